"""Every sentence the bots say, in one place, front-end neutral (plain text, no markup)."""

from collections.abc import Sequence

from bots.common.i18n import _, filled, gettext, ngettext
from core.naming import MAX_NAME_CHARS, MAX_TRIGGER_CHARS, NamingProblem
from daemon.schemas import (
    AccountOut,
    DatasetOut,
    EstimateOut,
    JobOut,
    LedgerEntryOut,
    ModelOut,
    OfferingOut,
    PackOut,
    PurchaseOut,
    RefusedImage,
)

WELCOME = _(
    "Welcome to lorabot!\n"
    "I train a LoRA — a small add-on for an image model — from your own pictures.\n"
    "Your balance: {balance} points.\n\n"
    "Next step: send /train (on Discord: /train start) to build a dataset from your images, "
    "pick what to train, see the price and confirm. I will send you the LoRA when it is done.\n"
    "Need points? Send /buy."
)
HELP = _(
    "What I can do:\n"
    "/train — make or pick a dataset, upload images, choose a training, see the price, confirm\n"
    "/imagine — generate images with one of your LoRAs\n"
    "/datasets — list, open, add images, re-caption, publish, delete\n"
    "/models — your trained LoRAs, download or publish them\n"
    "/explore — browse public datasets and LoRAs (/explore cat #portrait searches)\n"
    "/earnings — what your published datasets and LoRAs have earned\n"
    "/jobs — status of your trainings, cancel one\n"
    "/stats — your trainings, costs and datasets of the last 30 days, with a chart\n"
    "/spending — what you spent, bought and earned against the 30 days before, with a chart\n"
    "/activity — what happened lately: trainings, purchases, earnings; mark it read\n"
    "/balance — your points and recent ledger entries\n"
    "/buy — buy points with Telegram Stars\n"
    "/link — a code to join your Telegram and Discord accounts\n"
    "/web — a sign-in link to the web dashboard\n"
    "/language — the language I answer you in\n"
    "/help — this text"
)
HELP_DISCORD = _(
    "What I can do:\n"
    "/train start — make or pick a dataset, upload images, choose a training, see the price\n"
    "/train upload — add images as attachments (or just post them in the channel)\n"
    "/generate — generate images with one of your LoRAs\n"
    "/datasets list — open, add images, re-caption, publish, delete\n"
    "/models list — your trained LoRAs, download or publish them\n"
    "/explore datasets, /explore models — browse public work (search, tag, sort)\n"
    "/earnings list — what your published datasets and LoRAs have earned\n"
    "/jobs list — status of your trainings, cancel one\n"
    "/stats — your trainings, costs and datasets of the last 30 days, with a chart\n"
    "/spending — what you spent, bought and earned against the 30 days before, with a chart\n"
    "/activity — what happened lately: trainings, purchases, earnings; mark it read\n"
    "/account balance — your points and recent ledger entries\n"
    "/buy — buy points\n"
    "/account link — a code to join your Telegram and Discord accounts\n"
    "/web — a sign-in link to the web dashboard\n"
    "/language — the language I answer you in"
)

PICK_DATASET = _("Which dataset should I train on? Pick one, or start a new one.")
NO_DATASETS = _("You have no datasets yet. Let's make one.")
ASK_DATASET_NAME = _("Send me a name for the new dataset (e.g. “my cat”).")
SEND_IMAGES = _(
    "Send images now: single photos, albums, or images as files (files keep full quality). "
    "A photo's caption becomes that image's caption. Press Done when you have sent them all."
)
IMAGE_REFUSED = _("✗ {filename}: {message}")
NO_IMAGES_YET = _("The dataset has no images yet — send some first.")
NOT_AN_IMAGE = _("That is not an image. Send photos, or images as files.")
ASK_TRIGGER = _(
    "Choose the trigger word: the word you will put in prompts to call up your LoRA.\n"
    "Suggested: {suggested}\nPress the button to use it, or send another word."
)
# What to say when a typed name or trigger word breaks the daemon's rule (`core.naming`);
# formatted with `max` (the rule's length) and, for trigger words, the suggested word.
NAMING_PROBLEM = {
    NamingProblem.name_length: filled(
        _("A dataset name needs 1 to {max} characters. Try another name."), max=MAX_NAME_CHARS
    ),
    NamingProblem.name_control_chars: _(
        "A dataset name cannot contain invisible or control characters. Try another name."
    ),
    NamingProblem.trigger_length: filled(
        _("A trigger word is 1–{max} characters, e.g. {suggested}."), max=MAX_TRIGGER_CHARS
    ),
    NamingProblem.trigger_chars: _(
        "A trigger word is one word of letters A–Z, digits, “_” or “-”, without spaces, "
        "dots or accents, e.g. {suggested}."
    ),
}
# The labels of typed answers, for front-ends that ask in a form (Discord modals).
PROMPT_DATASET_NAME = _("Dataset name")
PROMPT_TRIGGER = _("Trigger word")
PROMPT_CAPTION = _("Caption")
PICK_OFFERING = _("What should I train?")
NO_OFFERINGS = _("No training is available right now. Please try again later.")
# Listed without a button: the person sees what exists and why it cannot be picked here.
OFFERINGS_UNAVAILABLE = _("Not available on this server right now:")
UNAVAILABLE_OFFERING = _("• {title} — {reason}")
UNAVAILABLE_REASONS = {
    "BASE_MODEL_MISSING": _("its base model is not installed"),
    "OFFERING_DISABLED": _("switched off by the operator"),
}
UNAVAILABLE_OTHER = _("not available")
PICK_PRESET = _("{title}: pick a preset.")
PRESET_LABEL = _("{name} ({steps} steps)")
SUMMARY = _(
    "Summary\n"
    "Dataset: {dataset} ({count} images), trigger word: {trigger}\n"
    "Training: {offering}, preset {preset}\n"
    "Price: {cost} points — your balance after: {after} points\n"
    "Estimated time: {duration}\n"
    "Queue: {queue}"
)
SUMMARY_WARNING = _("⚠ {message}")
SUMMARY_ERRORS = _("This training cannot run:\n{errors}")
SHORTFALL = _(
    "You need {shortfall} more points (balance {balance}, price {cost}). Send /buy to get more."
)
CONFIRMED = _("Paid {cost} points. Job #{job_id} is queued.")
ALREADY_CONFIRMED = _("Already confirmed — that is job #{job_id}; you were charged once.")
CANCELLED_FLOW = _("Cancelled. Nothing was charged.")
NO_CONVERSATION = _("There is no training conversation yet — start one with /train first.")
STALE_BUTTON = _("This button is from an older conversation; it does nothing now.")
STATE_MOVED_ON = _(
    "This conversation moved on in the meantime (another tap, or another window), so I kept "
    "it as it is now. Please go on from its latest message."
)
FOREIGN_BUTTON = _("This button belongs to someone else's conversation.")
DAEMON_DOWN = _("The training service is not reachable right now. Please try again in a minute.")
ERROR = _("That did not work: {message}")
OUR_FAULT = _("something went wrong on our side")
NO_DM = _("{mention} — I could not DM you, so here it is:")
ANSWER = _("Answer")

JOB_STATUS = {
    "queued": _("queued"),
    "preparing": _("preparing"),
    "training": _("training"),
    "finishing": _("finishing"),
    "completed": _("completed ✓"),
    "failed": _("failed ✗"),
    "cancelled": _("cancelled"),
}
PROGRESS = _("Job #{job_id} — {status}{stage}\n{bar} {step}/{total}{loss}{eta}")
QUEUED = _("Job #{job_id} — queued, position {position}.")
CANCEL_JOB = _("Cancel job")
JOB_CANCELLED = _("Job #{job_id} cancelled; {refunded} points refunded.")
JOB_NOT_CANCELLABLE = _("Job #{job_id} is already {status}.")

DONE = _(
    "Your LoRA is ready! Job #{job_id}, model #{model_id}.\n"
    "Trigger word: {trigger}\n"
    "Use it: load the .safetensors file as a LoRA in your image tool (e.g. ComfyUI, "
    "AUTOMATIC1111, or diffusers' load_lora_weights) and put “{trigger}” in your prompt."
)
LORA_FILE = _("{name} — the LoRA (kohya format: ComfyUI, AUTOMATIC1111, Forge, kohya, diffusers)")
LOSS_CURVE = _("Loss curve of job #{job_id}")
SAMPLES = _("Samples of model #{model_id} ({trigger})")
FAILED = _("Job #{job_id} failed: {reason}\n{refunded} points were refunded.")
CANCELLED = _("Job #{job_id} was cancelled; {refunded} points were refunded.")
STARTED = _("Job #{job_id} has started training.")

BALANCE = _("Balance: {balance} points.")
LEDGER_LINE = _("{sign}{delta} {kind}{reference} — {when}")
NO_LEDGER = _("No ledger entries yet.")
LINK_CODE = _(
    "Your link code: {code}\n"
    "On the other platform send /link {code} (Discord: /account link) within {minutes} minutes "
    "to join both into one account."
)
WEB_LINK = _(
    "Your dashboard: {url}\n"
    "The link signs you in once and works for {minutes} minutes — keep it to yourself."
)
LINKED = _("Linked! This chat now uses account #{account_id}, balance {balance} points.")

DATASETS_HEADER = _("Your datasets:")
DATASET_LINE = _("#{id} {name} — {count} images, trigger {trigger}")
DATASET_DETAIL = _(
    "Dataset #{id} “{name}”\nTrigger word: {trigger}\nImages: {count}\nVisibility: {visibility}"
)
IMAGE_LINE = _("#{id} {filename} {width}×{height} — {caption}")
ASK_CAPTION = _("Send the new caption for image #{image_id}.")
CAPTION_TITLE = _("Caption of image #{image_id}")
RECAPTIONED = _("Caption of image #{image_id} updated.")
DATASET_DELETED = _("Dataset “{name}” deleted.")
NO_MODELS = _("No trained models yet. Start one with /train.")
MODEL_LINE = _("#{id} {name} — trigger {trigger}")
NO_JOBS = _("No jobs yet. Start one with /train.")
JOB_LINE = _("#{id} {status} — {offering}/{preset}, {cost} points{progress}")

BTN_NEW_DATASET = _("➕ New dataset")
BTN_DONE = _("Done")
BTN_CONFIRM = _("Confirm and pay {cost}")
BTN_CANCEL = _("Cancel")
BTN_USE = _("Use {word}")
BTN_ADD_IMAGES = _("Add images")
BTN_DELETE = _("Delete")
BTN_DOWNLOAD = _("Download")

# -- points: buying, quotes and the low-balance notice (bots-pay) --------------------------
SHOP = _("Buy points — your balance: {balance} points.")
PACK_LINE = _("• {title}: {points} points for {stars} ⭐")
PACK_LINE_DISCORD = _("• {title}: {points} points")
NO_PACKS = _("No point packs are on sale right now. Please try again later.")
NO_PACKS_DISCORD = _("No point packs are sold on Discord right now. Please try again later.")
BTN_BUY = _("{points} points — {stars} ⭐")
INVOICE_DESCRIPTION = _("{points} points for training LoRAs with lorabot.")
INVOICE_LABEL = _("{points} points")
PACK_UNAVAILABLE = _("That pack is no longer on sale. Send /buy to see the packs on sale now.")
# What Telegram shows the payer when the bot refuses a checkout, by the daemon's error code.
CHECKOUT_REFUSED = {
    "PACK_UNAVAILABLE": _(
        "This pack is no longer on sale, so nothing was charged. "
        "Send /buy to see the packs on sale now."
    ),
    "PRICE_MISMATCH": _(
        "The price of this invoice changed, so nothing was charged. Send /buy for a new invoice."
    ),
    "PURCHASE_NOT_PENDING": _(
        "This invoice was already paid, so nothing was charged again. Send /buy for a new one."
    ),
    "NOT_FOUND": _("This invoice is not valid, so nothing was charged. Send /buy for a new one."),
}
CHECKOUT_FAILED = _("This invoice cannot be paid right now, so nothing was charged. Send /buy.")
CHECKOUT_DOWN = _(
    "The shop is not reachable right now, so nothing was charged. Please try again in a minute."
)
RECEIPT = _("Thank you! {points} points were added to your account.\nBalance: {balance} points.")
RECEIPT_PAID = _("Paid: {price} Telegram Stars.")
RECEIPT_REFERENCE = _("Reference for support: {reference}")
PAYMENT_NOT_CREDITED = _(
    "Your payment was received, but I could not add the points yet. Nothing is lost: they are "
    "added automatically within a few minutes. If not, contact support with this reference: "
    "{reference}"
)
QUOTE_HOLDS = _("This price holds until {until} UTC.")
QUOTE_EXPIRED = _(
    "The price shown has expired (a price holds for a few minutes). The price now: {cost} "
    "points.\nConfirm to pay {cost} points, or Cancel."
)
QUOTE_CHANGED = _(
    "The price changed since the summary: it was {quoted} points, it is now {cost} points.\n"
    "Confirm to pay {cost} points, or Cancel."
)
LOW_BALANCE = _(
    "Your balance is low: {balance} points (below {threshold}). Send /buy to top it up."
)


def duration(seconds: float | None) -> str:
    """A short human duration like `2 min 5 s`."""
    if seconds is None:
        return gettext("unknown")
    total = max(0, round(seconds))
    minutes, secs = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return gettext("{hours} h {minutes} min").format(hours=hours, minutes=minutes)
    if minutes:
        return gettext("{minutes} min {secs} s").format(minutes=minutes, secs=secs)
    return gettext("{secs} s").format(secs=secs)


def dataset_images(name: str, count: int) -> str:
    """How many images a dataset has, and how to send more."""
    has = ngettext(
        "Dataset “{name}” has {count} image.", "Dataset “{name}” has {count} images.", count
    )
    return has.format(name=name, count=count) + "\n" + SEND_IMAGES


def images_added(added: int, name: str, count: int) -> str:
    """The acknowledgement of an upload, with the dataset's running count."""
    ack = ngettext(
        "Added {added} image — “{name}” now has {count}.",
        "Added {added} images — “{name}” now has {count}.",
        added,
    )
    return ack.format(added=added, name=name, count=count)


def progress_bar(step: int, total: int, width: int = 12) -> str:
    """A text bar like `[█████░░░░░░░]`."""
    filled = round(width * step / total) if total > 0 else 0
    filled = min(width, max(0, filled))
    return "[" + "█" * filled + "░" * (width - filled) + "]"


def welcome(account: AccountOut) -> str:
    """The /start text."""
    return WELCOME.format(balance=account.balance)


def refused_lines(refused: list[RefusedImage]) -> list[str]:
    """One line per refused file with the daemon's reason."""
    return [IMAGE_REFUSED.format(filename=r.filename, message=r.message) for r in refused]


def summary(
    dataset: DatasetOut,
    offering: OfferingOut,
    preset: str,
    estimate: EstimateOut,
    balance: int,
    changes: Sequence[str] = (),
) -> str:
    """The price summary shown before Confirm (`changes`: the lines of changed settings)."""
    ahead = estimate.queue_ahead
    queue = (
        gettext("you are next")
        if ahead == 0
        else ngettext("{ahead} job ahead of you", "{ahead} jobs ahead of you", ahead)
    ).format(ahead=ahead)
    if estimate.starts_in_seconds >= 1:
        starts = duration(estimate.starts_in_seconds)
        queue += gettext(", starting in about {duration}").format(duration=starts)
    text = SUMMARY.format(
        dataset=dataset.name,
        count=dataset.image_count,
        trigger=dataset.trigger_word or "—",
        offering=offering.title or offering.id,
        preset=preset,
        cost=estimate.cost,
        after=balance - estimate.cost,
        duration=duration(estimate.estimated_seconds),
        queue=queue,
    )
    lines = [
        text,
        *changes,
        *(SUMMARY_WARNING.format(message=w.message) for w in estimate.warnings),
    ]
    return "\n".join(map(str, lines))


def job_progress(job: JobOut) -> str:
    """The live progress text of a job."""
    if job.status == "queued":
        return QUEUED.format(job_id=job.id, position=job.queue_position or 1)
    p = job.progress
    stage = f" ({job.stage})" if job.stage and job.stage != job.status else ""
    loss = gettext(", loss {loss:.4f}").format(loss=p.loss) if p.loss is not None else ""
    eta = (
        gettext(", ETA {duration}").format(duration=duration(p.eta_seconds))
        if p.eta_seconds is not None and not job.is_final
        else ""
    )
    return PROGRESS.format(
        job_id=job.id,
        status=JOB_STATUS.get(job.status, job.status),
        stage=stage,
        bar=progress_bar(p.step, p.total_steps),
        step=p.step,
        total=p.total_steps,
        loss=loss,
        eta=eta,
    )


def ledger(balance: int, entries: list[LedgerEntryOut]) -> str:
    """Balance and recent ledger entries."""
    lines = [BALANCE.format(balance=balance)]
    if not entries:
        lines.append(NO_LEDGER)
    for e in entries:
        when = e.created_at.strftime("%Y-%m-%d %H:%M") if e.created_at else ""
        reference = f" ({e.reference})" if e.reference else ""
        sign = "+" if e.delta >= 0 else ""
        lines.append(
            LEDGER_LINE.format(
                sign=sign, delta=e.delta, kind=e.kind, reference=reference, when=when
            )
        )
    return "\n".join(map(str, lines))


def dataset_line(d: DatasetOut) -> str:
    """One dataset in a list."""
    return DATASET_LINE.format(
        id=d.id, name=d.name, count=d.image_count, trigger=d.trigger_word or "—"
    )


def model_line(m: ModelOut) -> str:
    """One model in a list."""
    return MODEL_LINE.format(id=m.id, name=m.name, trigger=m.trigger_word or "—")


def job_line(j: JobOut) -> str:
    """One job in a list."""
    progress = ""
    if j.status in ("training", "finishing", "preparing"):
        step, total = j.progress.step, j.progress.total_steps
        progress = gettext(", step {step}/{total}").format(step=step, total=total)
    return JOB_LINE.format(
        id=j.id,
        status=JOB_STATUS.get(j.status, j.status),
        offering=j.offering_id or "?",
        preset=j.preset or "?",
        cost=j.cost,
        progress=progress,
    )


# -- points: buying, quotes and the low-balance notice (bots-pay) --------------------------
def pack_line(pack: PackOut, *, discord: bool = False) -> str:
    """One pack on sale: title, points and (on Telegram) its price in Stars."""
    template = PACK_LINE_DISCORD if discord else PACK_LINE
    return template.format(title=pack.title, points=pack.points, stars=pack.stars)


def receipt(purchase: PurchaseOut) -> str:
    """What the buyer is told once the points are credited."""
    lines = [RECEIPT.format(points=purchase.points, balance=purchase.balance)]
    if purchase.currency == "XTR":
        lines.append(RECEIPT_PAID.format(price=purchase.price))
    if purchase.charge_id:
        lines.append(RECEIPT_REFERENCE.format(reference=purchase.charge_id))
    return "\n".join(map(str, lines))
