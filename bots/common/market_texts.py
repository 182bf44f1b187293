"""What the marketplace says in the chat: /explore, publishing and /earnings (plain text,
front-end neutral, like `bots.common.texts`)."""

from bots.common.i18n import _, gettext
from core.enums import ItemKind, Licence, Visibility

EXPLORE_CHOOSE = _("What would you like to browse?")
EXPLORE_FILTERS = _("Search: {filters}")
EXPLORE_HEADER = {
    ItemKind.dataset: _("Public datasets — {sort}, page {page} of {pages} ({total} found)"),
    ItemKind.model: _("Public LoRAs — {sort}, page {page} of {pages} ({total} found)"),
}
EXPLORE_SORT = {"newest": _("newest first"), "most_used": _("most used first")}
EXPLORE_EMPTY = _("Nothing public matches yet.")
LISTED_DATASET = _("{n}. {name} — {count} images · {uses} uses · {licence}")
LISTED_MODEL = _("{n}. {name} — {family} · {price} points per use · {uses} uses")
DATASET_CARD = _(
    "Dataset #{id} “{name}”{mine}\n"
    "Trigger word: {trigger}\n"
    "{description}"
    "Tags: {tags}\n"
    "Images: {count} · Licence: {licence} · Uses: {uses}\n"
    "Training on it pays its owner a royalty out of your price."
)
MODEL_CARD = _(
    "LoRA #{id} “{name}”{mine}\n"
    "Trigger word: {trigger}\n"
    "Base: {family}\n"
    "{description}"
    "Tags: {tags}\n"
    "Licence: {licence} · Price per use: {price} points · Uses: {uses}\n"
    "Download it and use it under its licence."
)
YOURS = _(" (yours)")

ITEM_KIND = {ItemKind.dataset: _("Dataset"), ItemKind.model: _("LoRA")}
VISIBILITY_MEANING = {
    Visibility.private: _("Only you can see and use it."),
    Visibility.unlisted: (
        _("Anyone who knows its id (#{id}) can use it; it is not listed in /explore.")
    ),
    Visibility.public: (
        _("Anyone can find it with /explore and use it; you earn a royalty on each paid use.")
    ),
}
PUBLICATION = _("{kind} #{id} “{name}” is {visibility}{licence}{price}.")
PUBLICATION_LICENCE = _(" under {licence}")
PUBLICATION_PRICE = _(", {price} points per use")
ASK_VISIBILITY = _("Who may see and use it?")
ASK_LICENCE = _("Under which licence may others use it?")
LICENCE_MEANING = {
    Licence.cc0: _("no rights reserved"),
    Licence.cc_by: _("any use, with credit"),
    Licence.cc_by_sa: _("any use, with credit; derivatives under the same licence"),
    Licence.cc_by_nc: _("non-commercial use, with credit"),
    Licence.openrail_m: _("use within responsible-AI restrictions"),
    Licence.personal: _("private, non-commercial use; no redistribution"),
}
LICENCE_LINE = _("• {licence}: {meaning}")
ASK_PRICE = _("What should others pay per generation with it, in points? You earn a share.")
PUBLISHED = _("Done. {state}\n{meaning}")
PUBLISH_REFUSED = {
    "LICENCE_REQUIRED": _("Publishing needs a licence, so others know how they may use it."),
    "PRICE_OUT_OF_BOUNDS": _("That price is not allowed here{bounds}. Choose another one."),
}
PRICE_BOUNDS = _(" (from {min} to {max} points)")

EARNINGS_HEADER = _("What your published work has earned:")
EARNING_LINE = _("• {kind} #{id} “{name}” ({visibility}) — {uses} uses, {earned} points")
EARNINGS_TOTAL = _("Total earned: {total} points.")
NO_EARNINGS = _(
    "Nothing published yet. Open /datasets or /models and press Publish: "
    "each paid use of your public work earns you a royalty."
)

BTN_EXPLORE_KIND = {ItemKind.dataset: _("Datasets"), ItemKind.model: _("LoRAs")}
BTN_PREVIOUS = _("◀ Previous")
BTN_NEXT = _("Next ▶")
BTN_SORT = {"newest": _("Sort: newest"), "most_used": _("Sort: most used")}
BTN_CLEAR_SEARCH = _("✕ Clear search")
BTN_TRAIN_ON = _("Train on this")
BTN_PUBLISH = _("Publish")
BTN_VISIBILITY = {
    Visibility.private: _("🔒 Private"),
    Visibility.unlisted: _("🔗 Unlisted"),
    Visibility.public: _("🌍 Public"),
}
BTN_PRICE = _("{price} points")
BTN_FREE = _("Free")


def explore_filters(query: str, tag: str) -> str:
    """The search a listing shows, like `Search: “cat” · tag #portrait` (empty without one)."""
    parts = [f"“{query}”"] if query else []
    if tag:
        parts.append(gettext("tag #{tag}").format(tag=tag))
    return EXPLORE_FILTERS.format(filters=" · ".join(parts)) if parts else ""


def publication(
    kind: ItemKind,
    item_id: int,
    name: str,
    visibility: Visibility,
    licence: str | None,
    price: int | None,
) -> str:
    """Where an item stands: `LoRA #3 “cats” is public under CC0-1.0, 10 points per use.`"""
    shown = visibility.is_published
    return PUBLICATION.format(
        kind=ITEM_KIND[kind],
        id=item_id,
        name=name,
        visibility=visibility.value,
        licence=PUBLICATION_LICENCE.format(licence=licence) if shown and licence else "",
        price=PUBLICATION_PRICE.format(price=price) if shown and price is not None else "",
    )


def licence_choices() -> str:
    """Every licence with what it allows, one a line."""
    return "\n".join(
        LICENCE_LINE.format(licence=licence.value, meaning=LICENCE_MEANING[licence])
        for licence in Licence
    )


def tags_text(tags: list[str]) -> str:
    """Tags as `#a #b`, or a dash."""
    return " ".join(f"#{t}" for t in tags) or "—"
