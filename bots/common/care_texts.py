"""The sentences of dataset care: the contact sheet, removing images, renaming, description,
tags, zip imports and files too large to download."""

from bots.common.i18n import _, filled
from core.naming import MAX_DESCRIPTION_CHARS, MAX_TAG_CHARS, MAX_TAGS

# -- the dataset screen's buttons and lines --------------------------------------------------
BTN_SHEET = _("Contact sheet")
BTN_RENAME = _("Rename")
BTN_DESCRIPTION = _("Description")
BTN_TAGS = _("Tags")
BTN_REMOVE = _("Remove an image")
ABOUT = _("Description: {description}\nTags: {tags}")

# -- the contact sheet ------------------------------------------------------------------------
SHEET_HEADER = _("“{name}” — images {first}–{last} of {count} (page {page} of {pages})")
SHEET_LINE = _("{n}. {caption}")
SHEET_NEXT = _("Remove one with ✗ and its number, or Remove an image to type its number.")
SHEET_EMPTY = _("“{name}” has no images yet. Add some with Add images.")
BTN_PREV = _("◀ Previous")
BTN_NEXT = _("Next ▶")
BTN_REMOVE_NUMBER = _("✗ {n}")

# -- typed answers ------------------------------------------------------------------------------
ASK_NAME = _("Send the new name of the dataset.")
ASK_DESCRIPTION = filled(
    _("Send the new description (at most {max} characters), or “-” to remove it."),
    max=MAX_DESCRIPTION_CHARS,
)
ASK_TAGS = filled(
    _(
        "Send the tags, separated by commas (at most {max}, e.g. “cat, portrait”), or “-” "
        "to remove them all."
    ),
    max=MAX_TAGS,
)
ASK_REMOVE = _("Send the number of the image to remove, as the contact sheet shows it.")
PROMPT_NAME = _("New name")
PROMPT_DESCRIPTION = _("Description (“-” removes it)")
PROMPT_TAGS = _("Tags, separated by commas")
PROMPT_REMOVE = _("Number of the image to remove")
TITLE = _("Dataset #{dataset_id}")

RENAMED = _("Renamed to “{name}”.")
NAME_TAKEN = _("You already have a dataset named “{name}”. Send another name.")
DESCRIBED = _("Description saved.")
DESCRIPTION_REMOVED = _("Description removed.")
DESCRIPTION_TOO_LONG = filled(
    _("A description has at most {max} characters; yours has {count}. Send a shorter one."),
    max=MAX_DESCRIPTION_CHARS,
)
DESCRIPTION_CONTROL = _(
    "A description cannot hold invisible or control characters (line breaks are fine). "
    "Send it again without them."
)
TAGGED = _("Tags saved: {tags}.")
TAGS_REMOVED = _("Tags removed.")
TOO_MANY_TAGS = filled(
    _("A dataset has at most {max} tags; you sent {count}. Send fewer."), max=MAX_TAGS
)
BAD_TAG = filled(
    _(
        "A tag has 1 to {max} characters without control characters: “{tag}” is not one. "
        "Send the tags again."
    ),
    max=MAX_TAG_CHARS,
)
NO_SUCH_NUMBER = _("There is no image {answer}: send a number from 1 to {count}.")
NO_IMAGES_TO_REMOVE = _("The dataset has no images left to remove.")
REMOVED = _("Removed image {n} ({filename}).")
ALREADY_REMOVED = _("That image is no longer in the dataset.")
IN_USE = _(
    "Images cannot be removed while a queued or running job uses this dataset; nothing "
    "changed. Try again once it has finished."
)

# -- zip imports and downloads ------------------------------------------------------------------
ZIP_UNREADABLE = _("not a readable zip archive")
ZIP_ENCRYPTED = _("encrypted; send the archive without a password")
ZIP_TOO_MANY = _("the archive holds {count} entries; at most {max} are imported at once")
ZIP_TOO_BIG = _(
    "the archive unpacks to {size} MB; at most {max} MB are imported at once (split it)"
)
ZIP_ENTRY_TOO_BIG = _("the file unpacks to more than {max} MB")
ZIP_NOT_IMAGE = _("not an image (PNG, JPEG or WebP) nor a .txt caption")
ZIP_LONELY_CAPTION = _("a caption file with no image of the same name beside it")
ZIP_BROKEN_ENTRY = _("damaged inside the archive")
TOO_LARGE_TO_DOWNLOAD = _(
    "the file has {size} MB, more than the {max} MB I can fetch from {platform}, so I did not "
    "download it. Send a smaller file, or split it into several."
)


def about(description: str, tags: list[str]) -> str:
    """The dataset screen's description and tags lines."""
    return ABOUT.format(description=description or "—", tags=", ".join(tags) or "—")
