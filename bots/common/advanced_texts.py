"""The sentences of the advanced settings of a training (steps, rank, learning rate, …)."""

from bots.common.i18n import _

# The settings by their field names in the daemon's `overrides`.
LABELS = {
    "steps": _("Steps"),
    "rank": _("Rank"),
    "alpha": _("Alpha"),
    "learning_rate": _("Learning rate"),
    "resolution": _("Resolution"),
    "batch_size": _("Batch size"),
}
# What each setting does, in the words of a person who has not trained a LoRA before.
HINTS = {
    "steps": _("more steps learn more, cost more and can overfit"),
    "rank": _("the LoRA's capacity: higher learns finer detail, makes a larger file"),
    "learning_rate": _(
        "how big each step is: too high breaks the training, too low learns little"
    ),
    "resolution": _("the side length the images are trained at, in pixels"),
    "batch_size": _("images per step: larger is smoother and costs more per step"),
}

MENU = _(
    "Advanced settings — {offering}, preset {preset}\n"
    "{values}\n"
    "Pick a setting to change; the summary shows the new price after each change."
)
MENU_LINE = _("{label}: {value}{preset}")
MENU_PRESET = _(" (preset {value})")
ASK_VALUE = _(
    "{label} — now {value} (preset {preset}).\n"
    "It sets {hint}.\n"
    "Pick a value, or send {kind} between {low} and {high}."
)
KIND_WHOLE = _("a whole number")
KIND_NUMBER = _("a number")
CHANGED = _("Changed from preset {preset}:")
CHANGE_LINE = _("• {label}: {old} → {new}")
ALPHA_FOLLOWS = _(" (follows the rank)")

OUT_OF_BOUNDS = _("{label} must be between {low} and {high}; {value} is not.")
NOT_WHOLE = _("{label} must be a whole number between {low} and {high}, e.g. {example}.")
NOT_NUMBER = _("{label} must be a number between {low} and {high}, e.g. {example}.")
NOT_MULTIPLE = _("{label} must be a multiple of {step}, e.g. {example}; {value} is not.")
NOTHING_CHANGED = _("Nothing was changed.")
REFUSED = _("The training service refused these settings:\n{errors}")

FORM_TITLE = _("Advanced settings")
FORM_LABEL = _("{label} ({low}–{high})")

BTN_ADVANCED = _("⚙ Advanced settings")
BTN_RESET = _("↺ Back to preset values")
BTN_SUMMARY = _("« Summary")
BTN_BACK = _("« Settings")
BTN_SETTING = _("{label}: {value}")
BTN_CURRENT = _("• {value}")
