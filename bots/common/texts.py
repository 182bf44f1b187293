"""Every sentence the bots say, in one place, front-end neutral (plain text, no markup)."""

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

WELCOME = (
    "Welcome to lorabot!\n"
    "I train a LoRA — a small add-on for an image model — from your own pictures.\n"
    "Your balance: {balance} points.\n\n"
    "Next step: send /train (on Discord: /train start) to build a dataset from your images, "
    "pick what to train, see the price and confirm. I will send you the LoRA when it is done.\n"
    "Need points? Send /buy."
)
HELP = (
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
    "/help — this text"
)
HELP_DISCORD = (
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
    "/web — a sign-in link to the web dashboard"
)

PICK_DATASET = "Which dataset should I train on? Pick one, or start a new one."
NO_DATASETS = "You have no datasets yet. Let's make one."
ASK_DATASET_NAME = "Send me a name for the new dataset (e.g. “my cat”)."
SEND_IMAGES = (
    "Dataset “{name}” has {count} image(s).\n"
    "Send images now: single photos, albums, or images as files (files keep full quality). "
    "A photo's caption becomes that image's caption. Press Done when you have sent them all."
)
IMAGES_ACK = "Added {added} image(s) — “{name}” now has {count}."
IMAGE_REFUSED = "✗ {filename}: {message}"
NO_IMAGES_YET = "The dataset has no images yet — send some first."
NOT_AN_IMAGE = "That is not an image. Send photos, or images as files."
ASK_TRIGGER = (
    "Choose the trigger word: the word you will put in prompts to call up your LoRA.\n"
    "Suggested: {suggested}\nPress the button to use it, or send another word."
)
# What to say when a typed name or trigger word breaks the daemon's rule (`core.naming`);
# the trigger texts are formatted with the suggested word.
NAMING_PROBLEM = {
    NamingProblem.name_length: (
        f"A dataset name needs 1 to {MAX_NAME_CHARS} characters. Try another name."
    ),
    NamingProblem.name_control_chars: (
        "A dataset name cannot contain invisible or control characters. Try another name."
    ),
    NamingProblem.trigger_length: (
        f"A trigger word is 1–{MAX_TRIGGER_CHARS} characters, e.g. {{suggested}}."
    ),
    NamingProblem.trigger_chars: (
        "A trigger word is one word of letters A–Z, digits, “_” or “-”, without spaces, "
        "dots or accents, e.g. {suggested}."
    ),
}
PICK_OFFERING = "What should I train?"
NO_OFFERINGS = "No training is available right now. Please try again later."
# Listed without a button: the person sees what exists and why it cannot be picked here.
OFFERINGS_UNAVAILABLE = "Not available on this server right now:"
UNAVAILABLE_OFFERING = "• {title} — {reason}"
UNAVAILABLE_REASONS = {
    "BASE_MODEL_MISSING": "its base model is not installed",
    "OFFERING_DISABLED": "switched off by the operator",
}
UNAVAILABLE_OTHER = "not available"
PICK_PRESET = "{title}: pick a preset."
PRESET_LABEL = "{name} ({steps} steps)"
SUMMARY = (
    "Summary\n"
    "Dataset: {dataset} ({count} images), trigger word: {trigger}\n"
    "Training: {offering}, preset {preset}\n"
    "Price: {cost} points — your balance after: {after} points\n"
    "Estimated time: {duration}\n"
    "Queue: {queue}"
)
SUMMARY_WARNING = "⚠ {message}"
SUMMARY_ERRORS = "This training cannot run:\n{errors}"
SHORTFALL = (
    "You need {shortfall} more points (balance {balance}, price {cost}). Send /buy to get more."
)
CONFIRMED = "Paid {cost} points. Job #{job_id} is queued."
ALREADY_CONFIRMED = "Already confirmed — that is job #{job_id}; you were charged once."
CANCELLED_FLOW = "Cancelled. Nothing was charged."
NO_CONVERSATION = "There is no training conversation yet — start one with /train first."
STALE_BUTTON = "This button is from an older conversation; it does nothing now."
FOREIGN_BUTTON = "This button belongs to someone else's conversation."
DAEMON_DOWN = "The training service is not reachable right now. Please try again in a minute."
ERROR = "That did not work: {message}"

JOB_STATUS = {
    "queued": "queued",
    "preparing": "preparing",
    "training": "training",
    "finishing": "finishing",
    "completed": "completed ✓",
    "failed": "failed ✗",
    "cancelled": "cancelled",
}
PROGRESS = "Job #{job_id} — {status}{stage}\n{bar} {step}/{total}{loss}{eta}"
QUEUED = "Job #{job_id} — queued, position {position}."
CANCEL_JOB = "Cancel job"
JOB_CANCELLED = "Job #{job_id} cancelled; {refunded} points refunded."
JOB_NOT_CANCELLABLE = "Job #{job_id} is already {status}."

DONE = (
    "Your LoRA is ready! Job #{job_id}, model #{model_id}.\n"
    "Trigger word: {trigger}\n"
    "Use it: load the .safetensors file as a LoRA in your image tool (e.g. ComfyUI, "
    "AUTOMATIC1111, or diffusers' load_lora_weights) and put “{trigger}” in your prompt."
)
LORA_FILE = "{name} — the LoRA (kohya format: ComfyUI, AUTOMATIC1111, Forge, kohya, diffusers)"
LOSS_CURVE = "Loss curve of job #{job_id}"
SAMPLES = "Samples of model #{model_id} ({trigger})"
FAILED = "Job #{job_id} failed: {reason}\n{refunded} points were refunded."
CANCELLED = "Job #{job_id} was cancelled; {refunded} points were refunded."
STARTED = "Job #{job_id} has started training."

BALANCE = "Balance: {balance} points."
LEDGER_LINE = "{sign}{delta} {kind}{reference} — {when}"
NO_LEDGER = "No ledger entries yet."
LINK_CODE = (
    "Your link code: {code}\n"
    "On the other platform send /link {code} (Discord: /account link) within {minutes} minutes "
    "to join both into one account."
)
WEB_LINK = (
    "Your dashboard: {url}\n"
    "The link signs you in once and works for {minutes} minutes — keep it to yourself."
)
LINKED = "Linked! This chat now uses account #{account_id}, balance {balance} points."

DATASETS_HEADER = "Your datasets:"
DATASET_LINE = "#{id} {name} — {count} images, trigger {trigger}"
DATASET_DETAIL = (
    "Dataset #{id} “{name}”\nTrigger word: {trigger}\nImages: {count}\nVisibility: {visibility}"
)
IMAGE_LINE = "#{id} {filename} {width}×{height} — {caption}"
ASK_CAPTION = "Send the new caption for image #{image_id}."
CAPTION_TITLE = "Caption of image #{image_id}"
RECAPTIONED = "Caption of image #{image_id} updated."
DATASET_DELETED = "Dataset “{name}” deleted."
NO_MODELS = "No trained models yet. Start one with /train."
MODEL_LINE = "#{id} {name} — trigger {trigger}"
NO_JOBS = "No jobs yet. Start one with /train."
JOB_LINE = "#{id} {status} — {offering}/{preset}, {cost} points{progress}"

BTN_NEW_DATASET = "➕ New dataset"
BTN_DONE = "Done"
BTN_CONFIRM = "Confirm and pay {cost}"
BTN_CANCEL = "Cancel"
BTN_USE = "Use {word}"
BTN_ADD_IMAGES = "Add images"
BTN_DELETE = "Delete"
BTN_DOWNLOAD = "Download"

# -- points: buying, quotes and the low-balance notice (bots-pay) --------------------------
SHOP = "Buy points — your balance: {balance} points."
PACK_LINE = "• {title}: {points} points for {stars} ⭐"
PACK_LINE_DISCORD = "• {title}: {points} points"
NO_PACKS = "No point packs are on sale right now. Please try again later."
NO_PACKS_DISCORD = "No point packs are sold on Discord right now. Please try again later."
BTN_BUY = "{points} points — {stars} ⭐"
INVOICE_DESCRIPTION = "{points} points for training LoRAs with lorabot."
INVOICE_LABEL = "{points} points"
PACK_UNAVAILABLE = "That pack is no longer on sale. Send /buy to see the packs on sale now."
# What Telegram shows the payer when the bot refuses a checkout, by the daemon's error code.
CHECKOUT_REFUSED = {
    "PACK_UNAVAILABLE": "This pack is no longer on sale, so nothing was charged. "
    "Send /buy to see the packs on sale now.",
    "PRICE_MISMATCH": "The price of this invoice changed, so nothing was charged. "
    "Send /buy for a new invoice.",
    "PURCHASE_NOT_PENDING": "This invoice was already paid, so nothing was charged again. "
    "Send /buy for a new one.",
    "NOT_FOUND": "This invoice is not valid, so nothing was charged. Send /buy for a new one.",
}
CHECKOUT_FAILED = "This invoice cannot be paid right now, so nothing was charged. Send /buy."
CHECKOUT_DOWN = (
    "The shop is not reachable right now, so nothing was charged. Please try again in a minute."
)
RECEIPT = "Thank you! {points} points were added to your account.\nBalance: {balance} points."
RECEIPT_PAID = "Paid: {price} Telegram Stars."
RECEIPT_REFERENCE = "Reference for support: {reference}"
PAYMENT_NOT_CREDITED = (
    "Your payment was received, but I could not add the points yet. Nothing is lost: they are "
    "added automatically within a few minutes. If not, contact support with this reference: "
    "{reference}"
)
QUOTE_HOLDS = "This price holds until {until} UTC."
QUOTE_EXPIRED = (
    "The price shown has expired (a price holds for a few minutes). The price now: {cost} "
    "points.\nConfirm to pay {cost} points, or Cancel."
)
QUOTE_CHANGED = (
    "The price changed since the summary: it was {quoted} points, it is now {cost} points.\n"
    "Confirm to pay {cost} points, or Cancel."
)
LOW_BALANCE = "Your balance is low: {balance} points (below {threshold}). Send /buy to top it up."


def duration(seconds: float | None) -> str:
    """A short human duration like `2 min 5 s`."""
    if seconds is None:
        return "unknown"
    total = max(0, round(seconds))
    minutes, secs = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


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
) -> str:
    """The price summary shown before Confirm."""
    ahead = estimate.queue_ahead
    queue = "you are next" if ahead == 0 else f"{ahead} job(s) ahead of you"
    if estimate.starts_in_seconds >= 1:
        queue += f", starting in about {duration(estimate.starts_in_seconds)}"
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
    lines = [text, *(SUMMARY_WARNING.format(message=w.message) for w in estimate.warnings)]
    return "\n".join(lines)


def job_progress(job: JobOut) -> str:
    """The live progress text of a job."""
    if job.status == "queued":
        return QUEUED.format(job_id=job.id, position=job.queue_position or 1)
    p = job.progress
    stage = f" ({job.stage})" if job.stage and job.stage != job.status else ""
    loss = f", loss {p.loss:.4f}" if p.loss is not None else ""
    eta = (
        f", ETA {duration(p.eta_seconds)}"
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
    return "\n".join(lines)


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
        progress = f", step {j.progress.step}/{j.progress.total_steps}"
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
    return "\n".join(lines)
