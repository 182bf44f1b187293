"""The training journey, front-end neutral: dataset, images, trigger, offering, preset, pay."""

import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from bots.common import texts
from bots.common.actions import Action
from bots.common.client import DaemonClient
from bots.common.errors import InsufficientPointsError, QuoteError, QuoteExpiredError
from bots.common.schemas import Actor, Upload
from bots.common.screens import Button, Expect, Screen, StaleAction, chunk
from core.naming import MAX_TRIGGER_CHARS, check_dataset_name, check_trigger_word
from daemon.schemas import JobOut, OfferingOut, QuoteOut


class TrainStep(StrEnum):
    dataset = "dataset"  # pick an existing dataset or start a new one
    naming = "naming"  # waiting for the new dataset's name
    images = "images"  # collecting images until Done
    trigger = "trigger"  # choosing the trigger word
    offering = "offering"  # choosing what to train
    preset = "preset"  # choosing fast / balanced / quality
    summary = "summary"  # price shown, waiting for Confirm or Cancel
    submitted = "submitted"  # paid; a job exists
    cancelled = "cancelled"  # the user left the flow


def new_token() -> str:
    """A short random id that ties buttons to one conversation (or one summary)."""
    return secrets.token_urlsafe(6)


class TrainState(BaseModel):
    """Everything the journey remembers between messages; JSON-serialisable."""

    token: str = Field(default_factory=new_token)
    step: TrainStep = TrainStep.dataset
    dataset_id: int | None = None
    dataset_name: str = ""
    trigger_word: str | None = None
    offering_id: str | None = None
    preset: str | None = None
    summary_id: str | None = None
    cost: int | None = None
    quote_id: str | None = None  # the price shown holds under this id: Confirm pays exactly it
    job_id: int | None = None


@dataclass
class Confirmation:
    """The outcome of Confirm: the screen, the job and whether this press created it."""

    screen: Screen
    job: JobOut | None
    created: bool


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
        dataset = await self.client.dataset(self.actor, dataset_id)
        self.state.dataset_id, self.state.dataset_name = dataset.id, dataset.name
        self.state.trigger_word = dataset.trigger_word
        return self._images_screen(dataset.image_count)

    async def train_on(self, dataset_id: int) -> Screen:
        """Start on a dataset as it stands (another's published one): straight to the trainings.

        Its images and trigger word are its owner's to change, so those steps are skipped.
        """
        self._require(TrainStep.dataset)
        dataset = await self.client.dataset(self.actor, dataset_id)
        self.state.dataset_id, self.state.dataset_name = dataset.id, dataset.name
        self.state.trigger_word = dataset.trigger_word
        return await self._offerings_screen()

    async def ask_name(self, _: str = "") -> Screen:
        """Ask for the new dataset's name."""
        self._require(TrainStep.dataset)
        self.state.step = TrainStep.naming
        return self.prompt()

    def prompt(self) -> Screen:
        """The screen asking for the typed answer of the current step."""
        if self.state.step == TrainStep.naming:
            return Screen(texts.ASK_DATASET_NAME, expects=Expect.text, prompt="Dataset name")
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
            return Screen(text, expects=Expect.text, prompt="Dataset name")
        dataset = await self.client.create_dataset(self.actor, name)
        self.state.dataset_id, self.state.dataset_name = dataset.id, dataset.name
        return self._images_screen(0)

    def _images_screen(self, count: int) -> Screen:
        self.state.step = TrainStep.images
        text = texts.SEND_IMAGES.format(name=self.state.dataset_name, count=count)
        return Screen(text, _images_rows(), expects=Expect.images)

    async def add_images(self, uploads: list[Upload]) -> Screen:
        """Upload a batch; acknowledge it with the running count and each refusal's reason."""
        self._require(TrainStep.images)
        assert self.state.dataset_id is not None
        result = await self.client.upload_images(self.actor, self.state.dataset_id, uploads)
        dataset = await self.client.dataset(self.actor, self.state.dataset_id)
        lines = [
            texts.IMAGES_ACK.format(
                added=len(result.added), name=dataset.name, count=dataset.image_count
            ),
            *texts.refused_lines(result.refused),
        ]
        return Screen("\n".join(lines), _images_rows(), expects=Expect.images)

    async def images_done(self, _: str = "") -> Screen:
        """Images are in: ask for the trigger word, with a suggestion."""
        self._require(TrainStep.images)
        assert self.state.dataset_id is not None
        dataset = await self.client.dataset(self.actor, self.state.dataset_id)
        if dataset.image_count == 0:
            return Screen(texts.NO_IMAGES_YET, _images_rows(), Expect.images)
        self.state.step = TrainStep.trigger
        return self._trigger_screen(texts.ASK_TRIGGER)

    @property
    def suggested_trigger(self) -> str:
        """The dataset's trigger word if it has one, else one made from its name."""
        return self.state.trigger_word or suggest_trigger(self.state.dataset_name)

    def _trigger_screen(self, template: str) -> Screen:
        suggested = self.suggested_trigger
        # The word is not in the button: a long one would not fit Telegram's 64 bytes.
        rows = [[Button(texts.BTN_USE.format(word=suggested), Action.use_trigger)]]
        text = template.format(suggested=suggested)
        return Screen(text, rows, Expect.text, prompt="Trigger word", suggestion=suggested)

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
        offerings = [o for o in await self.client.offerings(self.actor) if o.enabled]
        if not offerings:
            self.state.step = TrainStep.cancelled
            return Screen(texts.NO_OFFERINGS)
        self.state.step = TrainStep.offering
        rows = chunk([Button(o.title or o.id, Action.pick_offering, o.id) for o in offerings], 2)
        rows.append([Button(texts.BTN_CANCEL, Action.cancel)])
        return Screen(texts.PICK_OFFERING, rows)

    async def _offering(self, offering_id: str) -> OfferingOut:
        for offering in await self.client.offerings(self.actor):
            if offering.id == offering_id and offering.enabled:
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
        assert self.state.dataset_id is not None and self.state.offering_id is not None
        offering = await self._offering(self.state.offering_id)
        if preset not in offering.presets:
            raise StaleAction(preset)
        estimate = await self.client.estimate(
            self.actor, self.state.dataset_id, offering.id, preset
        )
        if not estimate.ok:
            errors = "\n".join(f"• {e.message}" for e in estimate.errors)
            self.state.step = TrainStep.cancelled
            return Screen(texts.SUMMARY_ERRORS.format(errors=errors))
        account = await self.client.me(self.actor)
        dataset = await self.client.dataset(self.actor, self.state.dataset_id)
        self.state.preset = preset
        self.state.step = TrainStep.summary
        text = texts.summary(dataset, offering, preset, estimate, account.balance)
        if estimate.quote is not None:
            until = estimate.quote.expires_at.strftime("%H:%M")
            text += "\n" + texts.QUOTE_HOLDS.format(until=until)
        return self._price_screen(text, estimate.cost, estimate.quote, account.balance)

    def _price_screen(self, text: str, cost: int, quote: QuoteOut | None, balance: int) -> Screen:
        """A price to confirm: kept with its quote, under a new summary id (older Confirm
        buttons go stale), with the shortfall when the balance does not cover it."""
        self.state.cost = quote.cost if quote is not None else cost
        self.state.quote_id = quote.id if quote is not None else None
        self.state.summary_id = new_token()
        if self.state.cost > balance:
            text += "\n" + texts.SHORTFALL.format(
                shortfall=self.state.cost - balance, balance=balance, cost=self.state.cost
            )
        confirm = texts.BTN_CONFIRM.format(cost=self.state.cost)
        rows = [
            [
                Button(confirm, Action.confirm, self.state.summary_id),
                Button(texts.BTN_CANCEL, Action.cancel),
            ]
        ]
        return Screen(text, rows)

    async def confirm(
        self, summary_id: str, reply_to: dict[str, Any] | None = None
    ) -> Confirmation:
        """Pay and queue the job; the key is tied to the summary, so repeats charge once."""
        self._require(TrainStep.summary, TrainStep.submitted)
        if summary_id != self.state.summary_id:
            raise StaleAction(summary_id)
        s = self.state
        assert s.dataset_id is not None and s.offering_id and s.preset
        try:
            job, created = await self.client.submit_job(
                self.actor,
                dataset_id=s.dataset_id,
                offering_id=s.offering_id,
                preset=s.preset,
                idempotency_key=f"train:{self.actor.header}:{summary_id}",
                reply_to=reply_to,
                quote_id=s.quote_id,
            )
        except QuoteError as exc:
            return Confirmation(await self._requote(exc), None, False)
        except InsufficientPointsError as exc:
            balance, required = exc.details.get("balance", "?"), exc.details.get("required", "?")
            text = texts.SHORTFALL.format(shortfall=exc.shortfall, balance=balance, cost=required)
            return Confirmation(Screen(text), None, False)
        already = s.step == TrainStep.submitted or not created
        s.step, s.job_id = TrainStep.submitted, job.id
        template = texts.ALREADY_CONFIRMED if already else texts.CONFIRMED
        return Confirmation(
            Screen(template.format(job_id=job.id, cost=job.cost)), job, not already
        )

    async def _requote(self, exc: QuoteError) -> Screen:
        """The quoted price no longer holds: show the new one, to be confirmed again."""
        if exc.fresh_quote is None:
            raise exc  # a daemon that does not follow the contract: report it as it is
        quote = QuoteOut.model_validate(exc.fresh_quote)
        if isinstance(exc, QuoteExpiredError):
            text = texts.QUOTE_EXPIRED.format(cost=quote.cost)
        else:
            quoted = exc.details.get("quoted") or self.state.cost or "?"
            text = texts.QUOTE_CHANGED.format(quoted=quoted, cost=quote.cost)
        balance = (await self.client.me(self.actor)).balance
        return self._price_screen(text, quote.cost, quote, balance)

    async def cancel(self, _: str = "") -> Screen:
        """Leave the journey; nothing is charged."""
        self._require(*(step for step in TrainStep if step != TrainStep.submitted))
        self.state.step = TrainStep.cancelled
        return Screen(texts.CANCELLED_FLOW)
