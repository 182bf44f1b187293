"""The sentences of the advanced settings of a training (steps, rank, learning rate, …)."""

# The settings by their field names in the daemon's `overrides`.
LABELS = {
    "steps": "Steps",
    "rank": "Rank",
    "alpha": "Alpha",
    "learning_rate": "Learning rate",
    "resolution": "Resolution",
    "batch_size": "Batch size",
}
# What each setting does, in the words of a person who has not trained a LoRA before.
HINTS = {
    "steps": "more steps learn more, cost more and can overfit",
    "rank": "the LoRA's capacity: higher learns finer detail, makes a larger file",
    "learning_rate": "how big each step is: too high breaks the training, too low learns little",
    "resolution": "the side length the images are trained at, in pixels",
    "batch_size": "images per step: larger is smoother and costs more per step",
}

MENU = (
    "Advanced settings — {offering}, preset {preset}\n"
    "{values}\n"
    "Pick a setting to change; the summary shows the new price after each change."
)
MENU_LINE = "{label}: {value}{preset}"
MENU_PRESET = " (preset {value})"
ASK_VALUE = (
    "{label} — now {value} (preset {preset}).\n"
    "It sets {hint}.\n"
    "Pick a value, or send {kind} between {low} and {high}."
)
KIND_WHOLE = "a whole number"
KIND_NUMBER = "a number"
CHANGED = "Changed from preset {preset}:"
CHANGE_LINE = "• {label}: {old} → {new}"
ALPHA_FOLLOWS = " (follows the rank)"

OUT_OF_BOUNDS = "{label} must be between {low} and {high}; {value} is not."
NOT_WHOLE = "{label} must be a whole number between {low} and {high}, e.g. {example}."
NOT_NUMBER = "{label} must be a number between {low} and {high}, e.g. {example}."
NOT_MULTIPLE = "{label} must be a multiple of {step}, e.g. {example}; {value} is not."
NOTHING_CHANGED = "Nothing was changed."
REFUSED = "The training service refused these settings:\n{errors}"

FORM_TITLE = "Advanced settings"
FORM_LABEL = "{label} ({low}–{high})"

BTN_ADVANCED = "⚙ Advanced settings"
BTN_RESET = "↺ Back to preset values"
BTN_SUMMARY = "« Summary"
BTN_BACK = "« Settings"
BTN_SETTING = "{label}: {value}"
BTN_CURRENT = "• {value}"
