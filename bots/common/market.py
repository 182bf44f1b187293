"""/explore, front-end neutral: pages of public datasets and LoRAs, their cards, searches.

A listing (kind, search, order, page) travels whole in its buttons' argument, packed and
unpacked side by side here: nothing is kept between presses, so an old button still does what
it says after a restart. The short codes here are shared with `publishing`.
"""

import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from urllib.parse import unquote

from bots.common import market_texts, texts
from bots.common.actions import Action
from bots.common.client import DaemonClient
from bots.common.outgoing import Outgoing, OutKind
from bots.common.schemas import Actor
from bots.common.screens import Button, Screen, StaleAction, chunk
from core.enums import BrowseSort, ItemKind
from daemon.schemas import DatasetOut, ModelOut

PER_PAGE = 5
# Telegram's callback data holds 64 bytes: the owner's id, the action and separators take ~20.
MAX_ARG_BYTES = 40
MAX_TAG_BUTTONS = 4
MAX_SAMPLES = 4


KIND_CODE = {ItemKind.dataset: "d", ItemKind.model: "m"}
_SORT_CODE = {BrowseSort.newest: "n", BrowseSort.most_used: "u"}

C = TypeVar("C")

# Sample images fetched only once the card is shown.
Files = Callable[[], Awaitable[list[Outgoing]]]


def decode(codes: Mapping[C, str], code: str) -> C:
    """The member a short code stands for; an unknown code is a button this bot did not make."""
    for member, known in codes.items():
        if known == code:
            return member
    raise StaleAction(code)


def number(text: str) -> int:
    """A numeric argument; anything else is a button this bot did not make."""
    if not (text.isascii() and text.isdigit()):
        raise StaleAction(text)
    return int(text)


def item_of(arg: str) -> tuple[ItemKind, int]:
    """`d12` → (dataset, 12)."""
    return decode(KIND_CODE, arg[:1]), number(arg[1:])


def _escape(text: str) -> str:
    # "~" separates the fields, ":" separates Telegram's and Discord's own fields.
    return text.replace("%", "%25").replace("~", "%7E").replace(":", "%3A")


@dataclass(frozen=True)
class Listing:
    """A page of the marketplace: which kind of item, which search, which order, which page."""

    kind: ItemKind
    query: str = ""
    tag: str = ""
    sort: BrowseSort = BrowseSort.newest
    page: int = 1

    def pack(self) -> str:
        """`dn2~portrait~my cat`: kind, order and page, then the tag and the name search."""
        head = f"{KIND_CODE[self.kind]}{_SORT_CODE[self.sort]}{self.page}"
        return "~".join((head, _escape(self.tag), _escape(self.query)))

    @classmethod
    def unpack(cls, arg: str) -> "Listing":
        """The listing a button's argument carries."""
        head, tag, query = _split(arg, "~", 3)
        kind, sort = decode(KIND_CODE, head[:1]), decode(_SORT_CODE, head[1:2])
        page = number(head[2:])
        if page < 1:
            raise StaleAction(arg)
        return cls(kind, unquote(query), unquote(tag), sort, page)

    @property
    def fits(self) -> bool:
        """Whether its buttons can carry it, on any page up to 9999."""
        return len(replace(self, page=9999).pack().encode()) <= MAX_ARG_BYTES

    def fitted(self) -> "Listing":
        """The listing with its search shortened until its buttons can carry it.

        A shortened name search still finds what the whole one did (names *contain* it).
        """
        listing = self
        while not listing.fits and listing.query:
            listing = replace(listing, query=listing.query[:-1].rstrip())
        while not listing.fits:
            listing = replace(listing, tag=listing.tag[:-1])
        return listing


def _split(arg: str, sep: str, count: int) -> list[str]:
    parts = arg.split(sep)
    if len(parts) != count:
        raise StaleAction(arg)
    return parts


def parse_search(words: str) -> tuple[str, str]:
    """Typed search words → (name search, tag): `cat #portrait` → ("cat", "portrait")."""
    query, tag = [], ""
    for word in words.split():
        if word.startswith("#") and len(word) > 1 and not tag:
            tag = word[1:]
        else:
            query.append(word)
    return " ".join(query), tag


def search(kind: ItemKind, words: str | None, tag: str | None, sort: str) -> Listing:
    """The listing of a search given in separate fields (a form's, a command's options)."""
    query = " ".join((words or "").split())
    return Listing(kind, query, (tag or "").strip().removeprefix("#"), BrowseSort(sort)).fitted()


def choose(words: str = "") -> Screen:
    """Datasets or LoRAs? (the typed search, if any, kept for both)."""
    query, tag = parse_search(words)
    listings = [Listing(kind, query, tag).fitted() for kind in ItemKind]
    buttons = [
        Button(market_texts.BTN_EXPLORE_KIND[at.kind], Action.explore, at.pack())
        for at in listings
    ]
    lines = [
        market_texts.EXPLORE_CHOOSE,
        market_texts.explore_filters(listings[0].query, listings[0].tag),
    ]
    return Screen("\n".join(str(line) for line in lines if line), [buttons])


@dataclass(frozen=True)
class _Listed:
    """One item of a page, as the listing shows it."""

    item_id: int
    name: str
    line: str
    tags: list[str]


async def _page(client: DaemonClient, actor: Actor, at: Listing) -> tuple[int, list[_Listed]]:
    asked: dict[str, Any] = {
        "q": at.query,
        "tag": at.tag,
        "sort": at.sort,
        "page": at.page,
        "per_page": PER_PAGE,
    }
    first = (at.page - 1) * PER_PAGE + 1
    if at.kind is ItemKind.dataset:
        datasets = await client.marketplace_datasets(actor, **asked)
        return datasets.total, [
            _Listed(
                d.id,
                d.name,
                market_texts.LISTED_DATASET.format(
                    n=n, name=d.name, count=d.image_count, uses=d.uses, licence=d.licence or "—"
                ),
                d.tags,
            )
            for n, d in enumerate(datasets.items, first)
        ]
    models = await client.marketplace_models(actor, **asked)
    return models.total, [
        _Listed(
            m.id,
            m.name,
            market_texts.LISTED_MODEL.format(
                n=n, name=m.name, family=m.base_family or "—", price=m.price_per_use, uses=m.uses
            ),
            m.tags,
        )
        for n, m in enumerate(models.items, first)
    ]


async def listing(client: DaemonClient, actor: Actor, at: Listing) -> Screen:
    """A page of public items with their cards' buttons, Previous / Next, order and tags."""
    at = at.fitted()
    total, items = await _page(client, actor, at)
    pages = max(1, math.ceil(total / PER_PAGE))
    header = market_texts.EXPLORE_HEADER[at.kind].format(
        sort=market_texts.EXPLORE_SORT[at.sort], page=at.page, pages=pages, total=total
    )
    lines = [header, market_texts.explore_filters(at.query, at.tag)]
    lines += [item.line for item in items] or [market_texts.EXPLORE_EMPTY]
    code = KIND_CODE[at.kind]
    opens = [
        Button(f"{n}. {item.name}"[:40], Action.open_listed, f"{code}{item.item_id}")
        for n, item in enumerate(items, (at.page - 1) * PER_PAGE + 1)
    ]
    rows = [*chunk(opens, 3), _moves(at, pages)]
    rows.append(_filters(at, items))
    return Screen("\n".join(str(line) for line in lines if line), [row for row in rows if row])


def _moves(at: Listing, pages: int) -> list[Button]:
    other = BrowseSort.most_used if at.sort is BrowseSort.newest else BrowseSort.newest
    moves = []
    if at.page > 1:
        moves.append(
            Button(market_texts.BTN_PREVIOUS, Action.explore, replace(at, page=at.page - 1).pack())
        )
    moves.append(
        Button(
            market_texts.BTN_SORT[other], Action.explore, replace(at, sort=other, page=1).pack()
        )
    )
    if at.page < pages:
        moves.append(
            Button(market_texts.BTN_NEXT, Action.explore, replace(at, page=at.page + 1).pack())
        )
    return moves


def _filters(at: Listing, items: list[_Listed]) -> list[Button]:
    """A button per tag seen on the page (the whole tag, or none), and one to clear the search."""
    buttons: list[Button] = []
    for tag in dict.fromkeys(t for item in items for t in item.tags):
        narrowed = replace(at, tag=tag, page=1).fitted()
        if tag.casefold() != at.tag.casefold() and narrowed.tag == tag:
            buttons.append(Button(f"#{tag}", Action.explore, narrowed.pack()))
        if len(buttons) == MAX_TAG_BUTTONS:
            break
    if at.query or at.tag:
        cleared = Listing(at.kind, sort=at.sort)
        buttons.append(Button(market_texts.BTN_CLEAR_SEARCH, Action.explore, cleared.pack()))
    return buttons


async def card(client: DaemonClient, actor: Actor, arg: str) -> tuple[Screen, Files | None]:
    """A listed item's card; a LoRA's sample images follow it."""
    kind, item_id = item_of(arg)
    if kind is ItemKind.dataset:
        return dataset_card(await client.dataset(actor, item_id)), None
    model = await client.model(actor, item_id)

    async def samples() -> list[Outgoing]:
        caption = texts.SAMPLES.format(model_id=model.id, trigger=model.trigger_word or "—")
        return [
            Outgoing(
                OutKind.photo, caption, url.rsplit("/", 1)[-1], await client.download(actor, url)
            )
            for url in model.samples[:MAX_SAMPLES]
        ]

    return model_card(model), samples if model.samples else None


def _description(text: str) -> str:
    return f"{text}\n" if text else ""


def dataset_card(d: DatasetOut) -> Screen:
    """A dataset's card with Train on this."""
    text = market_texts.DATASET_CARD.format(
        id=d.id,
        name=d.name,
        mine=market_texts.YOURS if d.owned else "",
        trigger=d.trigger_word or "—",
        description=_description(d.description),
        tags=market_texts.tags_text(d.tags),
        count=d.image_count,
        licence=d.licence or "—",
        uses=d.uses,
    )
    return Screen(text, [[Button(market_texts.BTN_TRAIN_ON, Action.train_on, str(d.id))]])


def model_card(m: ModelOut) -> Screen:
    """A LoRA's card with Download."""
    text = market_texts.MODEL_CARD.format(
        id=m.id,
        name=m.name,
        mine=market_texts.YOURS if m.owned else "",
        trigger=m.trigger_word or "—",
        family=m.base_family or "—",
        description=_description(m.description),
        tags=market_texts.tags_text(m.tags),
        licence=m.licence or "—",
        price=m.price_per_use,
        uses=m.uses,
    )
    return Screen(text, [[Button(texts.BTN_DOWNLOAD, Action.download_model, str(m.id))]])
