"""One dispatch for every button, front-end neutral: a `Press` in, an `Outcome` out.

Telegram and Discord parse their wire format (callback data, custom_id) into a `Press`, call
`dispatch` and render the `Outcome`; what each action does is written once, in `HANDLERS`.
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from bots.common import (
    activity,
    captions,
    checkpoints,
    dataset_care,
    languages,
    library,
    market,
    publishing,
    shop,
)
from bots.common.actions import Action
from bots.common.advanced import AdvancedSettings
from bots.common.client import DaemonClient
from bots.common.generate import GenerateFlow, GenerateState
from bots.common.outgoing import Outgoing
from bots.common.schemas import Actor
from bots.common.screens import Form, Screen, StaleAction
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
    generating: GenerateState | None = None  # the presser's generate conversation, if any


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
    generating: GenerateState | None = None  # the generate conversation to keep from now on
    fix_captions: int | None = None  # the presser's next answers fix a caption of this dataset
    care: dataset_care.CareAsk | None = None  # the presser's next answer changes this dataset
    form: Form | None = None  # settings a front-end may ask all at once (Discord: a modal)


Handler = Callable[[DaemonClient, Press], Awaitable[Outcome]]
Step = Callable[[TrainFlow, str], Awaitable[Screen]]
SettingsStep = Callable[[AdvancedSettings, str], Awaitable[Screen]]
GenerateStep = Callable[[GenerateFlow, str], Awaitable[Screen]]


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
    job = confirmation.job if confirmation.follow else None
    return Outcome(confirmation.screen, Place.replace, flow.state, job=job)


def _settings_step(move: SettingsStep) -> Handler:
    """A button of the journey's advanced settings: move it on, show the next screen in place."""

    async def handle(client: DaemonClient, press: Press) -> Outcome:
        flow = _journey(client, press)
        return Outcome(await move(AdvancedSettings(flow), press.arg), Place.replace, flow.state)

    return handle


async def _advanced(client: DaemonClient, press: Press) -> Outcome:
    # The menu, and the form of every setting for a front-end that asks them at once.
    settings = AdvancedSettings(_journey(client, press))
    screen = await settings.open()
    return Outcome(screen, Place.replace, settings.state, form=settings.form())


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


# -- dataset care -------------------------------------------------------------------------------
async def _care_sheet(client: DaemonClient, press: Press) -> Outcome:
    dataset_id, page = dataset_care.sheet_page(press.arg)

    async def sheet() -> list[Outgoing]:
        return await dataset_care.sheet(client, press.actor, dataset_id, page)

    return Outcome(files=sheet)


async def _care_ask(client: DaemonClient, press: Press) -> Outcome:
    question = dataset_care.CareAsk.unpack(press.arg)
    return Outcome(dataset_care.ask(question), care=question)


async def _remove_image(client: DaemonClient, press: Press) -> Outcome:
    dataset_id, _, image_id = press.arg.partition(".")
    image = ImageRef(_id(dataset_id), _id(image_id))

    async def removed() -> list[Outgoing]:
        return await dataset_care.remove_image(
            client, press.actor, image.dataset_id, image.image_id
        )

    return Outcome(files=removed)


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


# -- automatic captions ----------------------------------------------------------------------
async def _fix_caption(client: DaemonClient, press: Press) -> Outcome:
    dataset_id = _id(press.arg)
    screen = await captions.ask_number(client, press.actor, dataset_id)
    return Outcome(screen, fix_captions=dataset_id)


async def _captions_done(client: DaemonClient, press: Press) -> Outcome:
    # A new journey, opened at its trigger step: it replaces the one under way, if any.
    flow = TrainFlow(client, press.actor, TrainState())
    return Outcome(await flow.after_captions(_id(press.arg)), Place.reply, flow.state)


# -- generating ------------------------------------------------------------------------------
def _conversation(client: DaemonClient, press: Press) -> GenerateFlow:
    """The generate conversation the button belongs to; another (older) one's is stale."""
    if press.generating is None or press.generating.token != press.token:
        raise StaleAction(press.token or "no conversation")
    return GenerateFlow(client, press.actor, press.generating)


def _generate_step(move: GenerateStep) -> Handler:
    """A button of the generate conversation: move it on and show the next screen in place."""

    async def handle(client: DaemonClient, press: Press) -> Outcome:
        flow = _conversation(client, press)
        return Outcome(await move(flow, press.arg), Place.replace, generating=flow.state)

    return handle


async def _gen_model(flow: GenerateFlow, arg: str) -> Screen:
    return await flow.pick_model(_id(arg))


async def _gen_confirm(client: DaemonClient, press: Press) -> Outcome:
    flow = _conversation(client, press)
    confirmation = await flow.confirm(press.arg, press.reply_to)
    return Outcome(confirmation.screen, Place.replace, generating=flow.state)


async def _try_model(client: DaemonClient, press: Press) -> Outcome:
    # A new conversation on the model: it replaces the one under way, if any.
    flow = GenerateFlow(client, press.actor, GenerateState())
    return Outcome(await flow.open_model(_id(press.arg)), Place.reply, generating=flow.state)


def _again(*, sheet: bool) -> Handler:
    """A button under a result: a new conversation, priced from that generation."""

    async def handle(client: DaemonClient, press: Press) -> Outcome:
        flow = GenerateFlow(client, press.actor, GenerateState())
        screen = await flow.again(_id(press.arg), sheet=sheet)
        return Outcome(screen, Place.reply, generating=flow.state)

    return handle


# -- a training's checkpoints ------------------------------------------------------------------
async def _keep_sample(client: DaemonClient, press: Press) -> Outcome:
    return Outcome(await checkpoints.keep(client, press.actor, press.arg))


async def _checkpoints(client: DaemonClient, press: Press) -> Outcome:
    return Outcome(await checkpoints.listing(client, press.actor, _id(press.arg)), Place.private)


async def _checkpoint_files(client: DaemonClient, press: Press) -> Outcome:
    async def files() -> list[Outgoing]:
        return await checkpoints.files(client, press.actor, press.arg)

    return Outcome(place=Place.private, files=files)


# -- the activity feed ---------------------------------------------------------------------
async def _mark_all_read(client: DaemonClient, press: Press) -> Outcome:
    # The feed under the button reads "all read" now: it moves on in place.
    return Outcome(await activity.mark_all_read(client, press.actor), Place.replace)


# -- the person's language -----------------------------------------------------------------
async def _language(client: DaemonClient, press: Press) -> Outcome:
    # The choice replaces the question, already in the language chosen.
    return Outcome(await languages.choose(client, press.actor, press.arg), Place.replace)


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
        Action.advanced: _advanced,
        Action.tune: _settings_step(AdvancedSettings.pick),
        Action.set_value: _settings_step(AdvancedSettings.choose),
        Action.tuned: _settings_step(AdvancedSettings.summary),
        Action.reset_tuning: _settings_step(AdvancedSettings.reset),
        Action.open_dataset: _open_dataset,
        Action.add_images: _add_images,
        Action.delete_dataset: _delete_dataset,
        Action.recaption: _recaption,
        Action.care_sheet: _care_sheet,
        Action.care_ask: _care_ask,
        Action.remove_image: _remove_image,
        Action.download_model: _download_model,
        Action.cancel_job: _cancel_job,
        Action.buy_pack: _buy_pack,
        Action.explore: _explore,
        Action.open_listed: _open_listed,
        Action.train_on: _train_on,
        Action.publish: _publish,
        Action.caption_price: _step(TrainFlow.caption_price),
        Action.skip_captions: _step(TrainFlow.skip_captions),
        Action.fix_caption: _fix_caption,
        Action.captions_done: _captions_done,
        Action.gen_model: _generate_step(_gen_model),
        Action.use_prompt: _generate_step(GenerateFlow.use_suggested_prompt),
        Action.gen_confirm: _gen_confirm,
        Action.gen_cancel: _generate_step(GenerateFlow.cancel),
        Action.try_model: _try_model,
        Action.strength_sheet: _again(sheet=True),
        Action.new_seed: _again(sheet=False),
        Action.keep_sample: _keep_sample,
        Action.checkpoints: _checkpoints,
        Action.checkpoint_files: _checkpoint_files,
        Action.mark_all_read: _mark_all_read,
        Action.language: _language,
    }
)


async def dispatch(client: DaemonClient, press: Press) -> Outcome:
    """Do what the pressed button asks."""
    return await HANDLERS[press.action](client, press)
