"""What the marketplace says in the chat: /explore, publishing and /earnings (plain text,
front-end neutral, like `bots.common.texts`)."""

from core.enums import ItemKind, Licence, Visibility

EXPLORE_CHOOSE = "What would you like to browse?"
EXPLORE_FILTERS = "Search: {filters}"
EXPLORE_HEADER = {
    ItemKind.dataset: "Public datasets — {sort}, page {page} of {pages} ({total} found)",
    ItemKind.model: "Public LoRAs — {sort}, page {page} of {pages} ({total} found)",
}
EXPLORE_SORT = {"newest": "newest first", "most_used": "most used first"}
EXPLORE_EMPTY = "Nothing public matches yet."
LISTED_DATASET = "{n}. {name} — {count} images · {uses} uses · {licence}"
LISTED_MODEL = "{n}. {name} — {family} · {price} points per use · {uses} uses"
DATASET_CARD = (
    "Dataset #{id} “{name}”{mine}\n"
    "Trigger word: {trigger}\n"
    "{description}"
    "Tags: {tags}\n"
    "Images: {count} · Licence: {licence} · Uses: {uses}\n"
    "Training on it pays its owner a royalty out of your price."
)
MODEL_CARD = (
    "LoRA #{id} “{name}”{mine}\n"
    "Trigger word: {trigger}\n"
    "Base: {family}\n"
    "{description}"
    "Tags: {tags}\n"
    "Licence: {licence} · Price per use: {price} points · Uses: {uses}\n"
    "Download it and use it under its licence."
)
YOURS = " (yours)"

ITEM_KIND = {ItemKind.dataset: "Dataset", ItemKind.model: "LoRA"}
VISIBILITY_MEANING = {
    Visibility.private: "Only you can see and use it.",
    Visibility.unlisted: (
        "Anyone who knows its id (#{id}) can use it; it is not listed in /explore."
    ),
    Visibility.public: (
        "Anyone can find it with /explore and use it; you earn a royalty on each paid use."
    ),
}
PUBLICATION = "{kind} #{id} “{name}” is {visibility}{licence}{price}."
PUBLICATION_LICENCE = " under {licence}"
PUBLICATION_PRICE = ", {price} points per use"
ASK_VISIBILITY = "Who may see and use it?"
ASK_LICENCE = "Under which licence may others use it?"
LICENCE_MEANING = {
    Licence.cc0: "no rights reserved",
    Licence.cc_by: "any use, with credit",
    Licence.cc_by_sa: "any use, with credit; derivatives under the same licence",
    Licence.cc_by_nc: "non-commercial use, with credit",
    Licence.openrail_m: "use within responsible-AI restrictions",
    Licence.personal: "private, non-commercial use; no redistribution",
}
LICENCE_LINE = "• {licence}: {meaning}"
ASK_PRICE = "What should others pay per generation with it, in points? You earn a share."
PUBLISHED = "Done. {state}\n{meaning}"
PUBLISH_REFUSED = {
    "LICENCE_REQUIRED": "Publishing needs a licence, so others know how they may use it.",
    "PRICE_OUT_OF_BOUNDS": "That price is not allowed here{bounds}. Choose another one.",
}
PRICE_BOUNDS = " (from {min} to {max} points)"

EARNINGS_HEADER = "What your published work has earned:"
EARNING_LINE = "• {kind} #{id} “{name}” ({visibility}) — {uses} uses, {earned} points"
EARNINGS_TOTAL = "Total earned: {total} points."
NO_EARNINGS = (
    "Nothing published yet. Open /datasets or /models and press Publish: "
    "each paid use of your public work earns you a royalty."
)

BTN_EXPLORE_KIND = {ItemKind.dataset: "Datasets", ItemKind.model: "LoRAs"}
BTN_PREVIOUS = "◀ Previous"
BTN_NEXT = "Next ▶"
BTN_SORT = {"newest": "Sort: newest", "most_used": "Sort: most used"}
BTN_CLEAR_SEARCH = "✕ Clear search"
BTN_TRAIN_ON = "Train on this"
BTN_PUBLISH = "Publish"
BTN_VISIBILITY = {
    Visibility.private: "🔒 Private",
    Visibility.unlisted: "🔗 Unlisted",
    Visibility.public: "🌍 Public",
}
BTN_PRICE = "{price} points"
BTN_FREE = "Free"


def explore_filters(query: str, tag: str) -> str:
    """The search a listing shows, like `Search: “cat” · tag #portrait` (empty without one)."""
    parts = [f"“{query}”"] if query else []
    if tag:
        parts.append(f"tag #{tag}")
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
