"""The sentences of automatic captions, generations, training samples and checkpoints."""

from bots.common.i18n import _, ngettext
from bots.common.texts import duration

# -- automatic captions in the training journey --------------------------------------------
CAPTION_WHY = _(
    "Captions tell the training what is in each picture besides your subject; I can write "
    "them for you, or you skip this step."
)
BTN_CAPTION = _("Caption automatically ({cost} points)")
BTN_SKIP = _("Skip")
CAPTIONS_UNAVAILABLE = _("(Automatic captions are not available right now: {reason})")
CAPTION_SUMMARY = _(
    "Automatic captions\n"
    "Images: {count} without a caption (the others keep theirs)\n"
    "Price: {cost} points — your balance after: {after} points\n"
    "Estimated time: {duration}"
)
CAPTIONING = _(
    "Paid {cost} points. Captioning your images (job #{job_id})… I will send the captions "
    "here when they are ready; you can fix any of them before the training."
)
CAPTIONS_ALREADY = _("Already confirmed — that is job #{job_id}; you were charged once.")
CAPTIONS_READY = _("Your captions are ready: {written} written{kept}{missing}.")
CAPTIONS_KEPT = _(", {kept} left as you wrote them meanwhile")
CAPTIONS_MISSING = _(", {missing} images gone meanwhile")
CAPTIONS_LIST = _("Captions of “{name}”:")
CAPTION_LINE = _("{n}. {caption}")
CAPTIONS_MORE = _("… and {count} more.")
CAPTIONS_NEXT = _("Fix any caption, or Continue to choose the trigger word.")
BTN_FIX = _("Fix a caption")
BTN_CONTINUE = _("Continue")
ASK_NUMBER = _("Send the number of the caption to fix (1–{count}).")
NOT_A_NUMBER = _("Send a number from 1 to {count}: the caption's number in the list.")
ASK_FIXED = _("Caption {n} now reads: {caption}\nSend its new text.")
EMPTY_CAPTION = _("A caption cannot be empty: caption {n} is unchanged.")
FIXED = _("Caption {n} fixed.")
FIX_TITLE = _("Fix a caption")
FIX_NUMBER = _("Number (1–{count})")
FIX_NUMBER_ANY = _("Number in the list")
PROMPT_NUMBER = _("Number")
FIX_TEXT = _("New caption")
CAPTIONS_FAILED = _(
    "Automatic captions (job #{job_id}) failed: {reason}\n{refunded} points were refunded. "
    "You can go on without them."
)
CAPTIONS_CANCELLED = _(
    "Automatic captions (job #{job_id}) were cancelled; {refunded} points were refunded."
)
BTN_CONTINUE_WITHOUT = _("Continue without captions")

# -- generating images -------------------------------------------------------------------
PICK_MODEL = _("Which of your LoRAs should I generate with?")
NO_MODELS_TO_USE = _("You have no trained LoRA yet. Train one with /train first.")
MODELS_UNUSABLE = _(
    "Cannot generate on this server right now (what they need is not installed): {names}"
)
NO_MODEL_USABLE = _(
    "None of your LoRAs can generate on this server right now: what they need is not installed."
)
ASK_PROMPT = _(
    "Generating with “{name}”. Send the prompt: what the picture should show. Put the "
    "trigger word {trigger} in it to call up your LoRA.\nSuggested: {suggested}"
)
PROMPT_LABEL = _("Prompt")
BTN_USE_PROMPT = _("Use the suggestion")
PROMPT_LENGTH = _("A prompt is 1 to {max} characters. Send another one.")
GENERATION_SUMMARY = _(
    "Generate with “{name}” (#{model_id})\n"
    "Prompt: {prompt}\n"
    "{images} image(s), {steps} steps, {resolution} px, seed {seed}\n"
    "Price: {cost} points — your balance after: {after} points\n"
    "Estimated time: {duration}"
)
SHEET_LINE = _("Strength sheet: {strengths} (one tile each, same seed)")
PRICE_PER_USE = _("Includes {price} points per use for the LoRA's owner.")
RANDOM_SEED = _("random")
GENERATION_ERRORS = _("This generation cannot run:\n{errors}")
GENERATING = _(
    "Paid {cost} points. Generation #{generation_id} is queued — the images follow here."
)
GENERATION_ALREADY = _("Already confirmed — that is generation #{generation_id}; charged once.")
GENERATION_CANCELLED_FLOW = _("Cancelled. Nothing was charged.")
RESULT = _("Generation #{generation_id} — “{prompt}”, seed {seed}")
RESULT_SHEET = _(
    "Strength sheet of generation #{generation_id} — “{prompt}”, seed {seed}: strengths "
    "{strengths}, left to right"
)
TILE = _("strength {strength}, seed {seed}")
RESULT_MORE = _("More like this? Each is a new request with its own price.")
BTN_SHEET = _("Strength sheet")
BTN_NEW_SEED = _("Again with a new seed")
GENERATION_FAILED = _("Generation #{job_id} failed: {reason}\n{refunded} points were refunded.")
GENERATION_CANCELLED = _("Generation #{job_id} was cancelled; {refunded} points were refunded.")

# -- samples while training, Keep this one, checkpoints -----------------------------------
SAMPLE = _("Sample of job #{job_id}: step {step} of {total}")
BTN_KEEP = _("Keep this one")
KEPT = _(
    "Kept the checkpoint of step {step}: job #{job_id} is done and model #{model_id} is "
    "yours. {refunded} points were refunded for the steps not trained."
)
KEEP_TOO_LATE = _("Job #{job_id} has already finished — nothing changed.")
BTN_TRY = _("Try it")
BTN_CHECKPOINTS = _("Checkpoints")
CHECKPOINTS = _("Saved checkpoints of model #{model_id}: pick a step to download its LoRA files.")
NO_CHECKPOINTS = _("Model #{model_id} has no saved checkpoints besides its final files.")
BTN_STEP = _("Step {step}")
CHECKPOINT_FILE = _("Model #{model_id}, checkpoint of step {step} ({name})")


def caption_offer(count: int) -> str:
    """How many images lack a caption, and what automatic captions are for."""
    lacking = ngettext(
        "{count} of your images has no caption.", "{count} of your images have no caption.", count
    )
    return lacking.format(count=count) + " " + CAPTION_WHY


def strengths_text(strengths: list[float]) -> str:
    """`0 · 0.4 · 1.2`."""
    return " · ".join(f"{s:g}" for s in strengths)


def caption_summary(count: int, cost: int, seconds: float, balance: int) -> str:
    """The price of automatic captions shown before Confirm."""
    return CAPTION_SUMMARY.format(
        count=count, cost=cost, after=balance - cost, duration=duration(seconds)
    )
