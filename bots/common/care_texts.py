"""The sentences of dataset care: the contact sheet, removing images, renaming, description,
tags, zip imports and files too large to download."""

from core.naming import MAX_DESCRIPTION_CHARS, MAX_TAG_CHARS, MAX_TAGS

# -- the dataset screen's buttons and lines --------------------------------------------------
BTN_SHEET = "Contact sheet"
BTN_RENAME = "Rename"
BTN_DESCRIPTION = "Description"
BTN_TAGS = "Tags"
BTN_REMOVE = "Remove an image"
ABOUT = "Description: {description}\nTags: {tags}"

# -- the contact sheet ------------------------------------------------------------------------
SHEET_HEADER = "“{name}” — images {first}–{last} of {count} (page {page} of {pages})"
SHEET_LINE = "{n}. {caption}"
SHEET_NEXT = "Remove one with ✗ and its number, or Remove an image to type its number."
SHEET_EMPTY = "“{name}” has no images yet. Add some with Add images."
BTN_PREV = "◀ Previous"
BTN_NEXT = "Next ▶"
BTN_REMOVE_NUMBER = "✗ {n}"

# -- typed answers ------------------------------------------------------------------------------
ASK_NAME = "Send the new name of the dataset."
ASK_DESCRIPTION = (
    f"Send the new description (at most {MAX_DESCRIPTION_CHARS} characters), or “-” to remove it."
)
ASK_TAGS = (
    f"Send the tags, separated by commas (at most {MAX_TAGS}, e.g. “cat, portrait”), or “-” "
    "to remove them all."
)
ASK_REMOVE = "Send the number of the image to remove, as the contact sheet shows it."
PROMPT_NAME = "New name"
PROMPT_DESCRIPTION = "Description (“-” removes it)"
PROMPT_TAGS = "Tags, separated by commas"
PROMPT_REMOVE = "Number of the image to remove"
TITLE = "Dataset #{dataset_id}"

RENAMED = "Renamed to “{name}”."
NAME_TAKEN = "You already have a dataset named “{name}”. Send another name."
DESCRIBED = "Description saved."
DESCRIPTION_REMOVED = "Description removed."
DESCRIPTION_TOO_LONG = (
    f"A description has at most {MAX_DESCRIPTION_CHARS} characters; yours has {{count}}. "
    "Send a shorter one."
)
DESCRIPTION_CONTROL = (
    "A description cannot hold invisible or control characters (line breaks are fine). "
    "Send it again without them."
)
TAGGED = "Tags saved: {tags}."
TAGS_REMOVED = "Tags removed."
TOO_MANY_TAGS = f"A dataset has at most {MAX_TAGS} tags; you sent {{count}}. Send fewer."
BAD_TAG = (
    f"A tag has 1 to {MAX_TAG_CHARS} characters without control characters: “{{tag}}” is "
    "not one. Send the tags again."
)
NO_SUCH_NUMBER = "There is no image {answer}: send a number from 1 to {count}."
NO_IMAGES_TO_REMOVE = "The dataset has no images left to remove."
REMOVED = "Removed image {n} ({filename})."
ALREADY_REMOVED = "That image is no longer in the dataset."
IN_USE = (
    "Images cannot be removed while a queued or running job uses this dataset; nothing "
    "changed. Try again once it has finished."
)

# -- zip imports and downloads ------------------------------------------------------------------
ZIP_UNREADABLE = "not a readable zip archive"
ZIP_ENCRYPTED = "encrypted; send the archive without a password"
ZIP_TOO_MANY = "the archive holds {count} entries; at most {max} are imported at once"
ZIP_TOO_BIG = "the archive unpacks to {size} MB; at most {max} MB are imported at once (split it)"
ZIP_ENTRY_TOO_BIG = "the file unpacks to more than {max} MB"
ZIP_NOT_IMAGE = "not an image (PNG, JPEG or WebP) nor a .txt caption"
ZIP_LONELY_CAPTION = "a caption file with no image of the same name beside it"
ZIP_BROKEN_ENTRY = "damaged inside the archive"
TOO_LARGE_TO_DOWNLOAD = (
    "the file has {size} MB, more than the {max} MB I can fetch from {platform}, so I did not "
    "download it. Send a smaller file, or split it into several."
)


def about(description: str, tags: list[str]) -> str:
    """The dataset screen's description and tags lines."""
    return ABOUT.format(description=description or "—", tags=", ".join(tags) or "—")
