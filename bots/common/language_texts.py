"""What /language says (plain text, front-end neutral, like `bots.common.texts`)."""

from bots.common.i18n import _

# Each language is named in itself, so a person who cannot read the current one finds theirs.
LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}
CHOOSE = _("Language: {language}{how}. Which language should I answer you in?")
FROM_APP = _(" (from your app's settings)")
BTN_FOLLOW_APP = _("Follow my app")
CHOSEN = _("Done: I answer you in English from now on.")
FOLLOWING_APP = _("Done: I follow your app's language from now on — {language}.")
