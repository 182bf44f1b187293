"""Generating images with a LoRA, front-end neutral: model, prompt, price, pay.

A conversation of its own beside the training journey (a person may caption or train while
generating). Its buttons carry its token; the buttons under a result (Strength sheet, Again
with a new seed) carry the generation's id and open a new conversation from it.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import Field

from bots.common import choices, media_texts, texts
from bots.common.actions import Action
from bots.common.client import DaemonClient
from bots.common.errors import InsufficientPointsError, QuoteError
from bots.common.pricing import PriceHold, new_token, price_screen, quote_line, requote, shortfall
from bots.common.schemas import Actor
from bots.common.screens import Button, Expect, Screen, StaleAction, chunk
from daemon.schemas import MAX_PROMPT_CHARS, GenerationEstimateOut, GenerationOut, ModelOut

SHEET_STRENGTHS = (0.0, 0.4, 0.7, 1.0, 1.2)  # 0: the base model alone; 1.0: as trained
DEFAULT_COUNT = 2  # images per request: an album of variations (seeds seed, seed + 1)
MAX_MODELS = 10


class GenerateStep(StrEnum):
    model = "model"  # choosing one of the person's models
    prompt = "prompt"  # waiting for the prompt (one with the trigger word is suggested)
    summary = "summary"  # price shown, waiting for Confirm or Cancel
    submitted = "submitted"  # paid; the images arrive as a message
    cancelled = "cancelled"  # the person left the conversation


class GenerateState(PriceHold):
    """What the conversation remembers: the model and the request; JSON-serialisable."""

    token: str = Field(default_factory=new_token)
    step: GenerateStep = GenerateStep.model
    model_id: int | None = None
    model_name: str = ""
    trigger_word: str | None = None
    prompt: str = ""
    negative_prompt: str = ""
    count: int = DEFAULT_COUNT
    seed: int | None = None  # None: the daemon picks (and records) one
    steps: int | None = None  # None: the offering's default
    resolution: int | None = None
    strength: float = 1.0
    strengths: list[float] | None = None  # a strength sheet: one tile per strength
    generation_id: int | None = None

    def request(self) -> dict[str, Any]:
        """The GenerationIn body."""
        return {
            "model_id": self.model_id,
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "count": self.count,
            "seed": self.seed,
            "steps": self.steps,
            "resolution": self.resolution,
            "strength": self.strength,
            "strengths": self.strengths,
        }


@dataclass
class GenerationConfirmation:
    """The outcome of Confirm: the screen, and the generation (None when refused)."""

    screen: Screen
    generation: GenerationOut | None


def suggest_prompt(trigger: str | None) -> str:
    """A first prompt that calls up the LoRA: `a photo of <trigger>`."""
    return f"a photo of {trigger}" if trigger else "a photo"


def _cancel_button() -> Button:
    return Button(texts.BTN_CANCEL, Action.gen_cancel)


def _model_label(model: ModelOut) -> str:
    return f"{model.name} (#{model.id})"[:40]


class GenerateFlow:
    """One person's generate conversation; every method moves `state` and returns a screen."""

    def __init__(self, client: DaemonClient, actor: Actor, state: GenerateState) -> None:
        self.client = client
        self.actor = actor
        self.state = state

    def _require(self, *steps: GenerateStep) -> None:
        if self.state.step not in steps:
            raise StaleAction(self.state.step)

    async def begin(self) -> Screen:
        """The person's models, newest first, a button each."""
        models = await self.client.models(self.actor)
        models.sort(key=lambda m: (m.created_at, m.id), reverse=True)
        self.state.step = GenerateStep.model
        if not models:
            self.state.step = GenerateStep.cancelled
            return Screen(media_texts.NO_MODELS_TO_USE)
        offerings = await self.client.offerings(self.actor)
        usable = [m for m in models if choices.can_generate(m, offerings)][:MAX_MODELS]
        unusable = [m for m in models if not choices.can_generate(m, offerings)][:MAX_MODELS]
        lines = [_model_label(m) for m in unusable]
        note = [media_texts.MODELS_UNUSABLE.format(names=", ".join(lines))] if lines else []
        if not usable:
            self.state.step = GenerateStep.cancelled
            return Screen("\n".join(map(str, [media_texts.NO_MODEL_USABLE, *note])))
        buttons = [Button(_model_label(m), Action.gen_model, str(m.id)) for m in usable]
        return Screen("\n".join(map(str, [media_texts.PICK_MODEL, *note])), chunk(buttons, 2))

    async def pick_model(self, model_id: int) -> Screen:
        """Generate with this model: ask for the prompt."""
        self._require(GenerateStep.model)
        return await self.open_model(model_id)

    async def open_model(self, model_id: int) -> Screen:
        """Ask for the prompt for a model, the suggestion filled in ("Try it" starts here)."""
        self._use_model(await self.client.model(self.actor, model_id))
        self.state.step = GenerateStep.prompt
        return self.prompt()

    def _use_model(self, model: ModelOut) -> None:
        self.state.model_id, self.state.model_name = model.id, model.name
        self.state.trigger_word = model.trigger_word

    @property
    def suggested_prompt(self) -> str:
        return suggest_prompt(self.state.trigger_word)

    def prompt(self, template: str = media_texts.ASK_PROMPT) -> Screen:
        """The screen asking for the prompt, with the suggestion a button press away."""
        if self.state.step != GenerateStep.prompt:
            raise StaleAction(self.state.step)
        text = template.format(
            name=self.state.model_name,
            trigger=self.state.trigger_word or "—",
            suggested=self.suggested_prompt,
            max=MAX_PROMPT_CHARS,
        )
        rows = [[Button(media_texts.BTN_USE_PROMPT, Action.use_prompt), _cancel_button()]]
        return Screen(
            text,
            rows,
            Expect.text,
            prompt=media_texts.PROMPT_LABEL,
            suggestion=self.suggested_prompt,
        )

    async def text(self, value: str) -> Screen:
        """The typed prompt: show its price."""
        self._require(GenerateStep.prompt)
        prompt = " ".join(value.split())
        if not 1 <= len(prompt) <= MAX_PROMPT_CHARS:
            return self.prompt(media_texts.PROMPT_LENGTH)
        self.state.prompt = prompt
        return await self._price()

    async def use_suggested_prompt(self, _: str = "") -> Screen:
        """Take the suggested prompt."""
        return await self.text(self.suggested_prompt)

    async def again(self, generation_id: int, *, sheet: bool) -> Screen:
        """A new request from a finished generation: its strength sheet (same prompt and seed),
        or the same request with a new seed; straight to the price."""
        done = await self.client.generation(self.actor, generation_id)
        self._use_model(await self.client.model(self.actor, done.model_id))
        s = self.state
        s.prompt, s.negative_prompt = done.prompt, done.negative_prompt
        s.steps, s.resolution, s.strength = done.steps, done.resolution, done.strength
        if sheet:
            s.seed, s.strengths, s.count = done.seed, list(SHEET_STRENGTHS), 1
        else:
            s.seed, s.strengths, s.count = None, done.strengths, done.count
        return await self._price()

    async def _price(self) -> Screen:
        """Estimate the request and show its price with Confirm / Cancel."""
        estimate = await self.client.generation_estimate(self.actor, self.state.request())
        if not estimate.ok:
            self.state.step = GenerateStep.cancelled
            errors = "\n".join(f"• {e.message}" for e in estimate.errors)
            return Screen(media_texts.GENERATION_ERRORS.format(errors=errors))
        balance = (await self.client.me(self.actor)).balance
        self.state.step = GenerateStep.summary
        return price_screen(
            self.state,
            self._summary(estimate, balance) + quote_line(estimate.quote),
            estimate.cost,
            estimate.quote,
            balance,
            confirm=Action.gen_confirm,
            back=_cancel_button(),
        )

    def _summary(self, estimate: GenerationEstimateOut, balance: int) -> str:
        s, params = self.state, estimate.params
        seed = params.get("seed", s.seed)
        lines = [
            media_texts.GENERATION_SUMMARY.format(
                name=s.model_name,
                model_id=s.model_id,
                prompt=s.prompt,
                images=estimate.image_count,
                steps=params.get("steps", s.steps or "?"),
                resolution=params.get("resolution", s.resolution or "?"),
                seed=media_texts.RANDOM_SEED if seed is None else seed,
                cost=estimate.cost,
                after=balance - estimate.cost,
                duration=texts.duration(estimate.estimated_seconds),
            )
        ]
        if s.strengths:
            strengths = media_texts.strengths_text(s.strengths)
            lines.append(media_texts.SHEET_LINE.format(strengths=strengths))
        if estimate.price_per_use:
            lines.append(media_texts.PRICE_PER_USE.format(price=estimate.price_per_use))
        lines += [texts.SUMMARY_WARNING.format(message=w.message) for w in estimate.warnings]
        return "\n".join(map(str, lines))

    async def confirm(
        self, summary_id: str, reply_to: dict[str, Any] | None = None
    ) -> GenerationConfirmation:
        """Pay and queue; the key is tied to the summary, so repeats charge once."""
        self._require(GenerateStep.summary, GenerateStep.submitted)
        if summary_id != self.state.summary_id:
            raise StaleAction(summary_id)
        s = self.state
        try:
            generation, created = await self.client.submit_generation(
                self.actor,
                s.request(),
                idempotency_key=f"generate:{self.actor.header}:{summary_id}",
                reply_to=reply_to,
                quote_id=s.quote_id,
            )
        except QuoteError as exc:
            screen = await requote(
                self.client, self.actor, s, exc, confirm=Action.gen_confirm, back=_cancel_button()
            )
            return GenerationConfirmation(screen, None)
        except InsufficientPointsError as exc:
            return GenerationConfirmation(shortfall(exc), None)
        already = s.step == GenerateStep.submitted or not created
        s.step, s.generation_id = GenerateStep.submitted, generation.id
        template = media_texts.GENERATION_ALREADY if already else media_texts.GENERATING
        text = template.format(generation_id=generation.id, cost=generation.cost)
        return GenerationConfirmation(Screen(text), generation)

    async def cancel(self, _: str = "") -> Screen:
        """Leave the conversation; nothing is charged."""
        self._require(GenerateStep.model, GenerateStep.prompt, GenerateStep.summary)
        self.state.step = GenerateStep.cancelled
        return Screen(media_texts.GENERATION_CANCELLED_FLOW)
