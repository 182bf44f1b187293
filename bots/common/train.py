"""The training journey, front-end neutral: dataset, images, captions, trigger, offering,
preset, pay."""

import re
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import Field

from bots.common import advanced_texts, choices, media_texts, texts, zip_import
from bots.common.actions import Action
from bots.common.client import DaemonClient
from bots.common.errors import InsufficientPointsError, QuoteError
from bots.common.pricing import PriceHold, new_token, price_screen, quote_line, requote, shortfall
from bots.common.schemas import Actor, Upload
from bots.common.screens import Button, Expect, Screen, StaleAction, chunk
from bots.common.tuning import Number, Tuning
from core.enums import JobKind
from core.naming import (
    MAX_TRIGGER_CHARS,
    check_dataset_name,
    check_trigger_word,
)
from daemon.schemas import (
    CaptionEstimateOut,
    DatasetOut,
    EstimateOut,
    JobOut,
    OfferingOut,
    RefusedImage,
)

# The caption estimate's answer when every image has a caption: nothing to offer, no note.
NOTHING_TO_CAPTION = "NO_IMAGES_TO_CAPTION"


class TrainStep(StrEnum):
    dataset = "dataset"  # pick an existing dataset or start a new one
    naming = "naming"  # waiting for the new dataset's name
    images = "images"  # collecting images until Done
    captions = "captions"  # automatic captions offered with their price, or Skip
    caption_summary = "caption_summary"  # the captions' price shown: Confirm or Skip
    captioning = "captioning"  # paid; the caption job runs, its list arrives as a message
    trigger = "trigger"  # choosing the trigger word
    offering = "offering"  # choosing what to train
    preset = "preset"  # choosing fast / balanced / quality
    summary = "summary"  # price shown, waiting for Confirm or Cancel
    advanced = "advanced"  # the advanced settings: which one to change (`bots.common.advanced`)
    tuning = "tuning"  # one setting's value: a button or a typed value
    submitted = "submitted"  # paid; a job exists
    cancelled = "cancelled"  # the user left the flow


class TrainState(PriceHold):
    """Everything the journey remembers between messages; JSON-serialisable."""

    token: str = Field(default_factory=new_token)
    step: TrainStep = TrainStep.dataset
    dataset_id: int | None = None
    dataset_name: str = ""
    trigger_word: str | None = None
    offering_id: str | None = None
    preset: str | None = None
    tuning: Tuning = Field(default_factory=Tuning)  # the preset's values the person changed
    job_id: int | None = None  # the training's, or the caption job's while captioning


@dataclass
class Confirmation:
    """The outcome of Confirm: the screen, the job and whether this press created it."""

    screen: Screen
    job: JobOut | None
    created: bool

    @property
    def follow(self) -> bool:
        """Whether the job's progress is shown live (a training this press created)."""
        return self.created and self.job is not None and self.job.kind == JobKind.train


def suggest_trigger(name: str) -> str:
    """A trigger word from a dataset name: lower-case letters and digits, e.g. `mycat`."""
    word = re.sub(r"[^a-z0-9]+", "", name.lower())[: MAX_TRIGGER_CHARS - 4]
    return f"{word or 'my'}lora" if len(word) < 3 else word


def _images_rows() -> list[list[Button]]:
    return [[Button(texts.BTN_DONE, Action.images_done), Button(texts.BTN_CANCEL, Action.cancel)]]


class TrainFlow:
    """One person's training journey; every method moves `state` and returns the next screen.

    Buttons reach these methods through `bots.common.dispatch`, typed answers through `text`.
    """

    def __init__(self, client: DaemonClient, actor: Actor, state: TrainState) -> None:
        self.client = client
        self.actor = actor
        self.state = state

    def _require(self, *steps: TrainStep) -> None:
        if self.state.step not in steps:
            raise StaleAction(self.state.step)

    async def begin(self) -> Screen:
        """The first screen: the person's datasets and a New button."""
        datasets = await self.client.datasets(self.actor)
        self.state.step = TrainStep.dataset
        rows = chunk([Button(d.name, Action.pick_dataset, str(d.id)) for d in datasets], 2)
        rows.append([Button(texts.BTN_NEW_DATASET, Action.new_dataset)])
        text = texts.PICK_DATASET if datasets else texts.NO_DATASETS
        return Screen(text, rows)

    async def pick_dataset(self, dataset_id: int) -> Screen:
        """Continue with an existing dataset."""
        self._require(TrainStep.dataset)
        dataset = await self._use_dataset(dataset_id)
        return self._images_screen(dataset.image_count)

    async def train_on(self, dataset_id: int) -> Screen:
        """Start on a dataset as it stands (another's published one): straight to the trainings.

        Its images and trigger word are its owner's to change, so those steps are skipped.
        """
        self._require(TrainStep.dataset)
        await self._use_dataset(dataset_id)
        return await self._offerings_screen()

    async def ask_name(self, _: str = "") -> Screen:
        """Ask for the new dataset's name."""
        self._require(TrainStep.dataset)
        self.state.step = TrainStep.naming
        return self.prompt()

    def prompt(self) -> Screen:
        """The screen asking for the typed answer of the current step."""
        if self.state.step == TrainStep.naming:
            return Screen(
                texts.ASK_DATASET_NAME, expects=Expect.text, prompt=texts.PROMPT_DATASET_NAME
            )
        if self.state.step == TrainStep.trigger:
            return self._trigger_screen(texts.ASK_TRIGGER)
        raise StaleAction(self.state.step)

    async def text(self, value: str) -> Screen:
        """A typed answer: the dataset name or the trigger word, depending on the step."""
        if self.state.step == TrainStep.naming:
            return await self.name_dataset(value)
        if self.state.step == TrainStep.trigger:
            return await self.set_trigger(value)
        raise StaleAction(self.state.step)

    async def name_dataset(self, name: str) -> Screen:
        """Create the dataset and ask for images."""
        self._require(TrainStep.naming)
        name = name.strip()
        problem = check_dataset_name(name)
        if problem is not None:
            text = texts.NAMING_PROBLEM[problem]
            return Screen(text, expects=Expect.text, prompt=texts.PROMPT_DATASET_NAME)
        dataset = await self.client.create_dataset(self.actor, name)
        self.state.dataset_id, self.state.dataset_name = dataset.id, dataset.name
        return self._images_screen(0)

    def _images_screen(self, count: int) -> Screen:
        self.state.step = TrainStep.images
        text = texts.dataset_images(self.state.dataset_name, count)
        return Screen(text, _images_rows(), expects=Expect.images)

    async def add_images(
        self, uploads: list[Upload], refused: Sequence[RefusedImage] = ()
    ) -> Screen:
        """Upload a batch (zips unpacked); acknowledge it with the running count and each
        refusal's reason (`refused`: files the front-end would not download)."""
        self._require(TrainStep.images)
        result = await zip_import.upload(
            self.client, self.actor, self._dataset_id(), uploads, refused
        )
        dataset = await self.client.dataset(self.actor, self._dataset_id())
        lines = [
            texts.images_added(len(result.added), dataset.name, dataset.image_count),
            *texts.refused_lines(result.refused),
        ]
        return Screen("\n".join(map(str, lines)), _images_rows(), expects=Expect.images)

    async def images_done(self, _: str = "") -> Screen:
        """Images are in: offer automatic captions, or ask for the trigger word."""
        self._require(TrainStep.images)
        dataset = await self.client.dataset(self.actor, self._dataset_id())
        if dataset.image_count == 0:
            return Screen(texts.NO_IMAGES_YET, _images_rows(), Expect.images)
        estimate = await self.client.caption_estimate(self.actor, self._dataset_id())
        if not estimate.ok:
            return self._to_trigger(_unavailable(estimate))
        self.state.step = TrainStep.captions
        count = estimate.image_count
        text = media_texts.caption_offer(count)
        offer = Button(media_texts.BTN_CAPTION.format(cost=estimate.cost), Action.caption_price)
        return Screen(text, [[offer, _skip_button()]])

    async def caption_price(self, _: str = "") -> Screen:
        """The price of automatic captions, to confirm (or skip)."""
        self._require(TrainStep.captions, TrainStep.caption_summary)
        estimate = await self.client.caption_estimate(self.actor, self._dataset_id())
        if not estimate.ok:
            return self._to_trigger(_unavailable(estimate))
        balance = (await self.client.me(self.actor)).balance
        self.state.step = TrainStep.caption_summary
        text = media_texts.caption_summary(
            estimate.image_count, estimate.cost, estimate.estimated_seconds, balance
        )
        text += "".join(
            "\n" + texts.SUMMARY_WARNING.format(message=w.message) for w in estimate.warnings
        )
        return price_screen(
            self.state,
            text + quote_line(estimate.quote),
            estimate.cost,
            estimate.quote,
            balance,
            confirm=Action.confirm,
            back=_skip_button(),
        )

    async def skip_captions(self, _: str = "") -> Screen:
        """On to the trigger word without automatic captions."""
        self._require(TrainStep.captions, TrainStep.caption_summary)
        return self._to_trigger()

    async def after_captions(self, dataset_id: int) -> Screen:
        """A fresh journey at the trigger word of a dataset whose captions were reviewed."""
        self._require(TrainStep.dataset)
        await self._use_dataset(dataset_id)
        return self._to_trigger()

    def _to_trigger(self, note: str = "") -> Screen:
        self.state.step = TrainStep.trigger
        return self._trigger_screen(texts.ASK_TRIGGER, note)

    async def _use_dataset(self, dataset_id: int) -> DatasetOut:
        dataset = await self.client.dataset(self.actor, dataset_id)
        self.state.dataset_id, self.state.dataset_name = dataset.id, dataset.name
        self.state.trigger_word = dataset.trigger_word
        return dataset

    def _dataset_id(self) -> int:
        if self.state.dataset_id is None:
            raise StaleAction(self.state.step)
        return self.state.dataset_id

    @property
    def suggested_trigger(self) -> str:
        """The dataset's trigger word if it has one, else one made from its name."""
        return self.state.trigger_word or suggest_trigger(self.state.dataset_name)

    def _trigger_screen(self, template: str, note: str = "") -> Screen:
        suggested = self.suggested_trigger
        # The word is not in the button: a long one would not fit Telegram's 64 bytes.
        rows = [[Button(texts.BTN_USE.format(word=suggested), Action.use_trigger)]]
        text = template.format(suggested=suggested)
        text += f"\n{note}" if note else ""
        return Screen(text, rows, Expect.text, prompt=texts.PROMPT_TRIGGER, suggestion=suggested)

    async def set_trigger(self, word: str) -> Screen:
        """Save the trigger word on the dataset and offer the trainings."""
        self._require(TrainStep.trigger)
        assert self.state.dataset_id is not None
        word = word.strip()
        problem = check_trigger_word(word)
        if problem is not None:
            return self._trigger_screen(texts.NAMING_PROBLEM[problem])
        await self.client.update_dataset(self.actor, self.state.dataset_id, trigger_word=word)
        self.state.trigger_word = word
        return await self._offerings_screen()

    async def use_suggested_trigger(self, _: str = "") -> Screen:
        """Take the suggested trigger word."""
        return await self.set_trigger(self.suggested_trigger)

    async def _offerings_screen(self) -> Screen:
        listed = await self.client.offerings(self.actor)
        offerings, unavailable = choices.trainable(listed), choices.unavailable_lines(listed)
        if not offerings:
            self.state.step = TrainStep.cancelled
            return Screen("\n".join(map(str, [texts.NO_OFFERINGS, *unavailable])))
        self.state.step = TrainStep.offering
        rows = chunk([Button(o.title or o.id, Action.pick_offering, o.id) for o in offerings], 2)
        rows.append([Button(texts.BTN_CANCEL, Action.cancel)])
        return Screen("\n".join(map(str, [texts.PICK_OFFERING, *unavailable])), rows)

    async def _offering(self, offering_id: str) -> OfferingOut:
        for offering in choices.trainable(await self.client.offerings(self.actor)):
            if offering.id == offering_id:
                return offering
        raise StaleAction(offering_id)

    async def pick_offering(self, offering_id: str) -> Screen:
        """Remember the offering and show its presets."""
        self._require(TrainStep.offering)
        offering = await self._offering(offering_id)
        self.state.offering_id = offering.id
        self.state.step = TrainStep.preset
        buttons = [
            Button(
                texts.PRESET_LABEL.format(name=name, steps=p.steps or "?"),
                Action.pick_preset,
                name,
            )
            for name, p in offering.presets.items()
        ]
        rows = [*chunk(buttons, 3), [Button(texts.BTN_CANCEL, Action.cancel)]]
        return Screen(texts.PICK_PRESET.format(title=offering.title or offering.id), rows)

    async def pick_preset(self, preset: str) -> Screen:
        """Estimate the training and show the summary with the price and Confirm / Cancel."""
        self._require(TrainStep.preset)
        assert self.state.offering_id is not None
        offering = await self._offering(self.state.offering_id)
        if preset not in offering.presets:
            raise StaleAction(preset)
        self.state.preset, self.state.tuning = preset, Tuning.of(offering, preset)
        estimate = await self.estimate({})
        if not estimate.ok:
            errors = "\n".join(f"• {e.message}" for e in estimate.errors)
            self.state.step = TrainStep.cancelled
            return Screen(texts.SUMMARY_ERRORS.format(errors=errors))
        return await self.summary(estimate, offering)

    async def estimate(self, overrides: dict[str, Number]) -> EstimateOut:
        """The daemon's estimate of the journey's training with these overrides."""
        assert self.state.offering_id is not None and self.state.preset is not None
        return await self.client.estimate(
            self.actor, self._dataset_id(), self.state.offering_id, self.state.preset, overrides
        )

    async def summary(self, estimate: EstimateOut, offering: OfferingOut | None = None) -> Screen:
        """The summary of a training `estimate` priced (with the journey's settings): the
        price held, what changed against the preset, Confirm, Cancel and the settings."""
        s = self.state
        assert s.offering_id is not None and s.preset is not None
        offering = offering or await self._offering(s.offering_id)
        account = await self.client.me(self.actor)
        dataset = await self.client.dataset(self.actor, self._dataset_id())
        s.step = TrainStep.summary
        changes = s.tuning.changes(s.preset)
        text = texts.summary(dataset, offering, s.preset, estimate, account.balance, changes)
        screen = price_screen(
            s,
            text + quote_line(estimate.quote),
            estimate.cost,
            estimate.quote,
            account.balance,
            confirm=Action.confirm,
            back=_cancel_button(),
        )
        settings = [Button(advanced_texts.BTN_ADVANCED, Action.advanced)]
        if s.tuning.overrides:
            settings.append(Button(advanced_texts.BTN_RESET, Action.reset_tuning))
        screen.rows.append(settings)
        return screen

    async def confirm(
        self, summary_id: str, reply_to: dict[str, Any] | None = None
    ) -> Confirmation:
        """Pay and queue the job (the captions' or the training's, by the step); the key is
        tied to the summary, so repeats charge once."""
        s = self.state
        captions = s.step in (TrainStep.caption_summary, TrainStep.captioning)
        if not captions:
            # The settings' steps too: Discord's modal answers while the summary still shows.
            self._require(*PRICED, TrainStep.submitted)
        if summary_id != s.summary_id:
            raise StaleAction(summary_id)
        if captions:
            submitted = self.client.submit_captions(
                self.actor,
                self._dataset_id(),
                idempotency_key=f"caption:{self.actor.header}:{summary_id}",
                reply_to=reply_to,
                quote_id=s.quote_id,
            )
            texts_of = (media_texts.CAPTIONING, media_texts.CAPTIONS_ALREADY)
            return await self._pay(submitted, TrainStep.captioning, _skip_button(), texts_of)
        assert s.offering_id and s.preset
        submitted = self.client.submit_job(
            self.actor,
            dataset_id=self._dataset_id(),
            offering_id=s.offering_id,
            preset=s.preset,
            overrides=s.tuning.overrides,
            idempotency_key=f"train:{self.actor.header}:{summary_id}",
            reply_to=reply_to,
            quote_id=s.quote_id,
        )
        texts_of = (texts.CONFIRMED, texts.ALREADY_CONFIRMED)
        return await self._pay(submitted, TrainStep.submitted, _cancel_button(), texts_of)

    async def _pay(
        self,
        submitted: Awaitable[tuple[JobOut, bool]],
        paid: TrainStep,
        back: Button,
        texts_of: tuple[str, str],
    ) -> Confirmation:
        """The submission's answer: the job (once), a fresh price, or the shortfall."""
        try:
            job, created = await submitted
        except QuoteError as exc:
            screen = await requote(
                self.client, self.actor, self.state, exc, confirm=Action.confirm, back=back
            )
            return Confirmation(screen, None, False)
        except InsufficientPointsError as exc:
            return Confirmation(Screen(shortfall(exc).text, [[back]]), None, False)
        already = self.state.step == paid or not created
        self.state.step, self.state.job_id = paid, job.id
        template = texts_of[1] if already else texts_of[0]
        return Confirmation(
            Screen(template.format(job_id=job.id, cost=job.cost)), job, not already
        )

    async def cancel(self, _: str = "") -> Screen:
        """Leave the journey; nothing is charged."""
        self._require(*(step for step in TrainStep if step not in _PAID))
        self.state.step = TrainStep.cancelled
        return Screen(texts.CANCELLED_FLOW)


# Steps after a payment: the journey cannot be cancelled any more (the job can).
_PAID = (TrainStep.submitted, TrainStep.captioning)
# Steps while a training's price shows: Confirm pays it (its summary id tells whether it is
# still the price of the settings), the settings can be changed.
PRICED = (TrainStep.summary, TrainStep.advanced, TrainStep.tuning)


def _cancel_button() -> Button:
    return Button(texts.BTN_CANCEL, Action.cancel)


def _skip_button() -> Button:
    return Button(media_texts.BTN_SKIP, Action.skip_captions)


def _unavailable(estimate: CaptionEstimateOut) -> str:
    """Why captions are not offered, as a note under the trigger question ("" when every
    image already has a caption)."""
    reasons = [e.message for e in estimate.errors if e.code != NOTHING_TO_CAPTION]
    if not reasons:
        return ""
    return media_texts.CAPTIONS_UNAVAILABLE.format(reason="; ".join(reasons))
