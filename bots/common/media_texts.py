"""The sentences of automatic captions, generations, training samples and checkpoints."""

from bots.common.texts import duration

# -- automatic captions in the training journey --------------------------------------------
CAPTION_OFFER = (
    "{count} of your images {have} no caption. Captions tell the training what is in each "
    "picture besides your subject; I can write them for you, or you skip this step."
)
BTN_CAPTION = "Caption automatically ({cost} points)"
BTN_SKIP = "Skip"
CAPTIONS_UNAVAILABLE = "(Automatic captions are not available right now: {reason})"
CAPTION_SUMMARY = (
    "Automatic captions\n"
    "Images: {count} without a caption (the others keep theirs)\n"
    "Price: {cost} points — your balance after: {after} points\n"
    "Estimated time: {duration}"
)
CAPTIONING = (
    "Paid {cost} points. Captioning your images (job #{job_id})… I will send the captions "
    "here when they are ready; you can fix any of them before the training."
)
CAPTIONS_ALREADY = "Already confirmed — that is job #{job_id}; you were charged once."
CAPTIONS_READY = "Your captions are ready: {written} written{kept}{missing}."
CAPTIONS_KEPT = ", {kept} left as you wrote them meanwhile"
CAPTIONS_MISSING = ", {missing} images gone meanwhile"
CAPTIONS_LIST = "Captions of “{name}”:"
CAPTION_LINE = "{n}. {caption}"
CAPTIONS_MORE = "… and {count} more."
CAPTIONS_NEXT = "Fix any caption, or Continue to choose the trigger word."
BTN_FIX = "Fix a caption"
BTN_CONTINUE = "Continue"
ASK_NUMBER = "Send the number of the caption to fix (1–{count})."
NOT_A_NUMBER = "Send a number from 1 to {count}: the caption's number in the list."
ASK_FIXED = "Caption {n} now reads: {caption}\nSend its new text."
EMPTY_CAPTION = "A caption cannot be empty: caption {n} is unchanged."
FIXED = "Caption {n} fixed."
FIX_TITLE = "Fix a caption"
FIX_NUMBER = "Number (1–{count})"
FIX_NUMBER_ANY = "Number in the list"
FIX_TEXT = "New caption"
CAPTIONS_FAILED = (
    "Automatic captions (job #{job_id}) failed: {reason}\n{refunded} points were refunded. "
    "You can go on without them."
)
CAPTIONS_CANCELLED = (
    "Automatic captions (job #{job_id}) were cancelled; {refunded} points were refunded."
)
BTN_CONTINUE_WITHOUT = "Continue without captions"

# -- generating images -------------------------------------------------------------------
PICK_MODEL = "Which of your LoRAs should I generate with?"
NO_MODELS_TO_USE = "You have no trained LoRA yet. Train one with /train first."
MODELS_UNUSABLE = (
    "Cannot generate on this server right now (what they need is not installed): {names}"
)
NO_MODEL_USABLE = (
    "None of your LoRAs can generate on this server right now: what they need is not installed."
)
ASK_PROMPT = (
    "Generating with “{name}”. Send the prompt: what the picture should show. Put the "
    "trigger word {trigger} in it to call up your LoRA.\nSuggested: {suggested}"
)
PROMPT_LABEL = "Prompt"
BTN_USE_PROMPT = "Use the suggestion"
PROMPT_LENGTH = "A prompt is 1 to {max} characters. Send another one."
GENERATION_SUMMARY = (
    "Generate with “{name}” (#{model_id})\n"
    "Prompt: {prompt}\n"
    "{images} image(s), {steps} steps, {resolution} px, seed {seed}\n"
    "Price: {cost} points — your balance after: {after} points\n"
    "Estimated time: {duration}"
)
SHEET_LINE = "Strength sheet: {strengths} (one tile each, same seed)"
PRICE_PER_USE = "Includes {price} points per use for the LoRA's owner."
RANDOM_SEED = "random"
GENERATION_ERRORS = "This generation cannot run:\n{errors}"
GENERATING = "Paid {cost} points. Generation #{generation_id} is queued — the images follow here."
GENERATION_ALREADY = "Already confirmed — that is generation #{generation_id}; charged once."
GENERATION_CANCELLED_FLOW = "Cancelled. Nothing was charged."
RESULT = "Generation #{generation_id} — “{prompt}”, seed {seed}"
RESULT_SHEET = (
    "Strength sheet of generation #{generation_id} — “{prompt}”, seed {seed}: strengths "
    "{strengths}, left to right"
)
TILE = "strength {strength}, seed {seed}"
RESULT_MORE = "More like this? Each is a new request with its own price."
BTN_SHEET = "Strength sheet"
BTN_NEW_SEED = "Again with a new seed"
GENERATION_FAILED = "Generation #{job_id} failed: {reason}\n{refunded} points were refunded."
GENERATION_CANCELLED = "Generation #{job_id} was cancelled; {refunded} points were refunded."

# -- samples while training, Keep this one, checkpoints -----------------------------------
SAMPLE = "Sample of job #{job_id}: step {step} of {total}"
BTN_KEEP = "Keep this one"
KEPT = (
    "Kept the checkpoint of step {step}: job #{job_id} is done and model #{model_id} is "
    "yours. {refunded} points were refunded for the steps not trained."
)
KEEP_TOO_LATE = "Job #{job_id} has already finished — nothing changed."
BTN_TRY = "Try it"
BTN_CHECKPOINTS = "Checkpoints"
CHECKPOINTS = "Saved checkpoints of model #{model_id}: pick a step to download its LoRA files."
NO_CHECKPOINTS = "Model #{model_id} has no saved checkpoints besides its final files."
BTN_STEP = "Step {step}"
CHECKPOINT_FILE = "Model #{model_id}, checkpoint of step {step} ({name})"


def strengths_text(strengths: list[float]) -> str:
    """`0 · 0.4 · 1.2`."""
    return " · ".join(f"{s:g}" for s in strengths)


def caption_summary(count: int, cost: int, seconds: float, balance: int) -> str:
    """The price of automatic captions shown before Confirm."""
    return CAPTION_SUMMARY.format(
        count=count, cost=cost, after=balance - cost, duration=duration(seconds)
    )
