"""Publishing one's datasets and LoRAs (visibility, licence, price per use) and /earnings.

Publishing asks one thing per screen and changes the item once, at the end, with every choice
made (so a LoRA is never public at a price nobody chose); the choices so far travel in the
buttons as a packed `Publication`.
"""

from dataclasses import dataclass, replace

from bots.common import market_texts
from bots.common.actions import Action
from bots.common.client import DaemonClient
from bots.common.errors import InvalidInputError
from bots.common.market import KIND_CODE, decode, item_of, number
from bots.common.schemas import Actor
from bots.common.screens import Button, Screen, StaleAction, chunk
from core.enums import ItemKind, Licence, Visibility

PRICES = (0, 5, 10, 25, 50, 100)  # the offered prices per use; the daemon holds the bounds
_VISIBILITY_CODE = {Visibility.private: "pr", Visibility.unlisted: "un", Visibility.public: "pu"}


@dataclass(frozen=True)
class Publication:
    """Publishing under way: the item and the choices made so far, e.g. `m12.pu.cc_by.25`."""

    kind: ItemKind
    item_id: int
    visibility: Visibility | None = None
    licence: Licence | None = None
    price: int | None = None

    def pack(self) -> str:
        """Item, then visibility, licence (by name) and price, as far as chosen."""
        parts = [f"{KIND_CODE[self.kind]}{self.item_id}"]
        if self.visibility is not None:
            parts.append(_VISIBILITY_CODE[self.visibility])
        if self.licence is not None:
            parts.append(self.licence.name)
        if self.price is not None:
            parts.append(str(self.price))
        return ".".join(parts)

    @classmethod
    def unpack(cls, arg: str) -> "Publication":
        """The publication a button's argument carries."""
        item, *choices = arg.split(".")
        if len(choices) > 3:
            raise StaleAction(arg)
        kind, item_id = item_of(item)
        visibility = decode(_VISIBILITY_CODE, choices[0]) if choices else None
        if len(choices) > 1 and choices[1] not in Licence.__members__:
            raise StaleAction(arg)
        licence = Licence[choices[1]] if len(choices) > 1 else None
        price = number(choices[2]) if len(choices) > 2 else None
        return cls(kind, item_id, visibility, licence, price)


@dataclass(frozen=True)
class _Standing:
    """Where an item stands now."""

    name: str
    visibility: Visibility
    licence: Licence | None
    price: int | None  # models only


async def _standing(client: DaemonClient, actor: Actor, at: Publication) -> _Standing:
    if at.kind is ItemKind.dataset:
        d = await client.dataset(actor, at.item_id)
        return _Standing(d.name, d.visibility, d.licence, None)
    m = await client.model(actor, at.item_id)
    return _Standing(m.name, m.visibility, m.licence, m.price_per_use)


def _state(at: Publication, item: _Standing) -> str:
    return market_texts.publication(
        at.kind, at.item_id, item.name, item.visibility, item.licence, item.price
    )


def _mark(label: str, current: bool) -> str:
    return f"{label} ✓" if current else label


def _complete(at: Publication) -> bool:
    """Whether every choice this item needs is made."""
    if at.visibility is None:
        return False
    if not at.visibility.is_published:
        return True
    return at.licence is not None and (at.kind is ItemKind.dataset or at.price is not None)


async def publish(client: DaemonClient, actor: Actor, at: Publication) -> Screen:
    """The next step of publishing: visibility, licence, price (LoRAs), then the change."""
    if _complete(at):
        return await _apply(client, actor, at)
    item = await _standing(client, actor, at)
    if at.visibility is None:
        return _ask_visibility(at, item)
    if at.licence is None:
        return _ask_licence(at, item)
    return _ask_price(at, item)


def _ask_visibility(at: Publication, item: _Standing) -> Screen:
    buttons = [
        Button(
            _mark(market_texts.BTN_VISIBILITY[v], v is item.visibility),
            Action.publish,
            replace(at, visibility=v).pack(),
        )
        for v in Visibility
    ]
    return Screen(f"{_state(at, item)}\n{market_texts.ASK_VISIBILITY}", [buttons])


def _ask_licence(at: Publication, item: _Standing) -> Screen:
    buttons = [
        Button(
            _mark(licence.value, licence == item.licence),
            Action.publish,
            replace(at, licence=licence).pack(),
        )
        for licence in Licence
    ]
    return Screen(
        f"{market_texts.ASK_LICENCE}\n{market_texts.licence_choices()}", chunk(buttons, 2)
    )


def _ask_price(at: Publication, item: _Standing) -> Screen:
    # The current price is offered too, so keeping it is one press.
    prices = sorted({*PRICES, *([item.price] if item.price is not None else [])})
    buttons = [
        Button(
            _mark(
                market_texts.BTN_PRICE.format(price=p) if p else market_texts.BTN_FREE,
                p == item.price,
            ),
            Action.publish,
            replace(at, price=p).pack(),
        )
        for p in prices
    ]
    return Screen(market_texts.ASK_PRICE, chunk(buttons, 4))


async def _apply(client: DaemonClient, actor: Actor, at: Publication) -> Screen:
    """Change the item with every choice at once; the daemon's refusals in plain words."""
    assert at.visibility is not None
    fields: dict[str, object] = {"visibility": at.visibility.value}
    if at.licence is not None:
        fields["licence"] = at.licence.value
    if at.price is not None:
        fields["price_per_use"] = at.price
    try:
        if at.kind is ItemKind.dataset:
            d = await client.update_dataset(actor, at.item_id, **fields)
            item = _Standing(d.name, d.visibility, d.licence, None)
        else:
            m = await client.update_model(actor, at.item_id, **fields)
            item = _Standing(m.name, m.visibility, m.licence, m.price_per_use)
    except InvalidInputError as exc:
        if exc.code not in market_texts.PUBLISH_REFUSED:
            raise
        return _refused(at, exc)
    meaning = market_texts.VISIBILITY_MEANING[item.visibility].format(id=at.item_id)
    return Screen(market_texts.PUBLISHED.format(state=_state(at, item), meaning=meaning))


def _refused(at: Publication, exc: InvalidInputError) -> Screen:
    """The refusal in plain words, and a button back to the choice it was about."""
    low, high = exc.details.get("min_price_per_use"), exc.details.get("max_price_per_use")
    bounds = (
        "" if low is None or high is None else market_texts.PRICE_BOUNDS.format(min=low, max=high)
    )
    text = market_texts.PUBLISH_REFUSED[exc.code].format(bounds=bounds)
    if exc.code == "PRICE_OUT_OF_BOUNDS":
        again = replace(at, price=None)
    else:
        again = replace(at, licence=None, price=None)
    return Screen(text, [[Button(market_texts.BTN_PUBLISH, Action.publish, again.pack())]])


async def earnings(client: DaemonClient, actor: Actor) -> Screen:
    """What each published item has earned (uses, points), and the total."""
    answer = await client.earnings(actor)
    if not answer.items:
        return Screen(market_texts.NO_EARNINGS)
    lines = [market_texts.EARNINGS_HEADER]
    lines += [
        market_texts.EARNING_LINE.format(
            kind=market_texts.ITEM_KIND[e.item_kind],
            id=e.id,
            name=e.name,
            visibility=e.visibility,
            uses=e.uses,
            earned=e.earned,
        )
        for e in answer.items
    ]
    lines.append(market_texts.EARNINGS_TOTAL.format(total=answer.total_earned))
    return Screen("\n".join(map(str, lines)))


def publish_button(kind: ItemKind, item_id: int, label: str = market_texts.BTN_PUBLISH) -> Button:
    """The button that starts publishing an item (on the library's screens)."""
    return Button(label, Action.publish, Publication(kind, item_id).pack())
