"""One dispatch for every button, front-end neutral: a `Press` in, an `Outcome` out.

Telegram and Discord parse their wire format (callback data, custom_id) into a `Press`, call
`dispatch` and render the `Outcome`; what each action does is written once, in `HANDLERS`.
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from bots.common import library, market, publishing, shop
from bots.common.actions import Action
from bots.common.client import DaemonClient
from bots.common.delivery import Outgoing
from bots.common.schemas import Actor
from bots.common.screens import Screen, StaleAction
from bots.common.train import TrainFlow, TrainState
from daemon.schemas import JobOut


class Place(StrEnum):
    replace = "replace"  # in place of the pressed message: the journey moved on
    reply = "reply"  # a new message in the chat
    private = "private"  # a new message only the presser sees (Discord: ephemeral)


@dataclass(frozen=True)
class Press:
    """A pressed button, as both front-ends parse it."""

    action: Action
    arg: str
    token: str  # the journey the button belongs to; "" on list and progress buttons
    actor: Actor
    journey: TrainState | None  # the presser's current journey, if any
    reply_to: dict[str, Any] = field(default_factory=dict)  # where a job's result is sent


@dataclass(frozen=True)
class ImageRef:
    """An image of a dataset."""

    dataset_id: int
    image_id: int


# Messages fetched only once the press is answered: a model's files can take a while.
Files = Callable[[], Awaitable[list[Outgoing]]]


@dataclass
class Outcome:
    """What a press leads to: the front-end shows it and keeps `journey`."""

    screen: Screen | None = None
    place: Place = Place.reply
    journey: TrainState | None = None  # the journey to keep from now on (moved on, or opened)
    job: JobOut | None = None  # a job this press created: follow its progress
    caption_for: ImageRef | None = None  # the presser's next typed answer is its caption
    files: Files | None = None
    invoice: shop.Invoice | None = None  # an order to send as a Telegram Stars invoice


Handler = Callable[[DaemonClient, Press], Awaitable[Outcome]]
Step = Callable[[TrainFlow, str], Awaitable[Screen]]


def _journey(client: DaemonClient, press: Press) -> TrainFlow:
    """The journey the button belongs to; a button of another (older) journey is stale."""
    if press.journey is None or press.journey.token != press.token:
        raise StaleAction(press.token or "no conversation")
    return TrainFlow(client, press.actor, press.journey)


def _step(move: Step) -> Handler:
    """A button of the journey: move it on and show the next screen in place."""

    async def handle(client: DaemonClient, press: Press) -> Outcome:
        flow = _journey(client, press)
        return Outcome(await move(flow, press.arg), Place.replace, flow.state)

    return handle


def _id(arg: str) -> int:
    """A numeric argument; anything else is a button this bot did not make."""
    if not (arg.isascii() and arg.isdigit()):
        raise StaleAction(arg)
    return int(arg)


async def _pick_dataset(flow: TrainFlow, arg: str) -> Screen:
    return await flow.pick_dataset(_id(arg))


async def _confirm(client: DaemonClient, press: Press) -> Outcome:
    flow = _journey(client, press)
    confirmation = await flow.confirm(press.arg, press.reply_to)
    job = confirmation.job if confirmation.created else None
    return Outcome(confirmation.screen, Place.replace, flow.state, job=job)


async def _open_dataset(client: DaemonClient, press: Press) -> Outcome:
    return Outcome(await library.dataset(client, press.actor, _id(press.arg)))


async def _add_images(client: DaemonClient, press: Press) -> Outcome:
    # A new journey, opened at its image step: it replaces the one under way, if any.
    flow = TrainFlow(client, press.actor, TrainState())
    return Outcome(await flow.pick_dataset(_id(press.arg)), Place.reply, flow.state)


async def _delete_dataset(client: DaemonClient, press: Press) -> Outcome:
    screen = await library.delete_dataset(client, press.actor, _id(press.arg))
    return Outcome(screen, Place.private)


async def _recaption(client: DaemonClient, press: Press) -> Outcome:
    dataset_id, _, image_id = press.arg.partition(".")
    image = ImageRef(_id(dataset_id), _id(image_id))
    return Outcome(library.ask_caption(image.image_id), caption_for=image)


async def _download_model(client: DaemonClient, press: Press) -> Outcome:
    model_id = _id(press.arg)

    async def files() -> list[Outgoing]:
        return await library.model_download(client, press.actor, model_id)

    return Outcome(place=Place.private, files=files)


async def _cancel_job(client: DaemonClient, press: Press) -> Outcome:
    screen, _ = await library.cancel_job(client, press.actor, _id(press.arg))
    return Outcome(screen, Place.private)


async def _buy_pack(client: DaemonClient, press: Press) -> Outcome:
    ordered = await shop.order(client, press.actor, press.arg)
    if isinstance(ordered, shop.Invoice):
        return Outcome(invoice=ordered)
    return Outcome(ordered, Place.private)


# -- the marketplace ------------------------------------------------------------------------
async def _explore(client: DaemonClient, press: Press) -> Outcome:
    # Another page, order or search of the same listing: the listing moves on in place.
    listing = await market.listing(client, press.actor, market.Listing.unpack(press.arg))
    return Outcome(listing, Place.replace)


async def _open_listed(client: DaemonClient, press: Press) -> Outcome:
    screen, samples = await market.card(client, press.actor, press.arg)
    return Outcome(screen, Place.reply, files=samples)


async def _train_on(client: DaemonClient, press: Press) -> Outcome:
    # A new journey, opened at its training step: it replaces the one under way, if any.
    flow = TrainFlow(client, press.actor, TrainState())
    return Outcome(await flow.train_on(_id(press.arg)), Place.reply, flow.state)


async def _publish(client: DaemonClient, press: Press) -> Outcome:
    publication = publishing.Publication.unpack(press.arg)
    screen = await publishing.publish(client, press.actor, publication)
    # The first step answers privately; the later ones move that answer on in place.
    place = Place.private if publication.visibility is None else Place.replace
    return Outcome(screen, place)


HANDLERS: Mapping[Action, Handler] = MappingProxyType(
    {
        Action.pick_dataset: _step(_pick_dataset),
        Action.new_dataset: _step(TrainFlow.ask_name),
        Action.images_done: _step(TrainFlow.images_done),
        Action.use_trigger: _step(TrainFlow.use_suggested_trigger),
        Action.pick_offering: _step(TrainFlow.pick_offering),
        Action.pick_preset: _step(TrainFlow.pick_preset),
        Action.confirm: _confirm,
        Action.cancel: _step(TrainFlow.cancel),
        Action.open_dataset: _open_dataset,
        Action.add_images: _add_images,
        Action.delete_dataset: _delete_dataset,
        Action.recaption: _recaption,
        Action.download_model: _download_model,
        Action.cancel_job: _cancel_job,
        Action.buy_pack: _buy_pack,
        Action.explore: _explore,
        Action.open_listed: _open_listed,
        Action.train_on: _train_on,
        Action.publish: _publish,
    }
)


async def dispatch(client: DaemonClient, press: Press) -> Outcome:
    """Do what the pressed button asks."""
    return await HANDLERS[press.action](client, press)
