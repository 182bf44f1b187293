"""The advanced settings of a training: the preset's values a person changed, within the
offering's bounds (the journey's steps and screens: `bots.common.advanced`).

A value is checked here first, for a friendly message; the daemon's preflight stays the judge.
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Self

from pydantic import BaseModel, Field

from bots.common import advanced_texts as t
from bots.common.screens import StaleAction
from daemon.schemas import OfferingOut

Number = int | float
MAX_CHOICES = 5  # value buttons per setting: one row on a phone


@dataclass(frozen=True)
class Param:
    """A setting a person may change."""

    name: str  # the preset's field, and its key in the daemon's `overrides`
    code: str  # its short code in a button's argument (Telegram allows 64 bytes in all)
    integer: bool
    ladder: Callable[[Number], list[Number]]  # candidate values around the preset's
    multiple: int = 1  # a value must be a multiple of this (1: any)

    def allows(self, value: Number) -> bool:
        """Whether `value` is a multiple of the setting's `multiple`."""
        return self.multiple == 1 or value % self.multiple == 0


def _scaled(*factors: float, to: int = 1) -> Callable[[Number], list[Number]]:
    return lambda base: [round(base * f / to) * to for f in factors]


def _fixed(values: list[Number]) -> Callable[[Number], list[Number]]:
    return lambda _: values


# Learning rates on the 1-2-5 ladder, written out so each is the float its text reads.
_RATES: list[Number] = [float(f"{m}e-{e}") for e in range(7, 0, -1) for m in (1, 2, 5)]
_POWERS: list[Number] = [2**i for i in range(11)]

PARAMS = (
    Param("steps", "st", True, _scaled(0.5, 0.75, 1, 1.5, 2, 3)),
    Param("rank", "rk", True, _fixed(_POWERS)),
    Param("learning_rate", "lr", False, _fixed(_RATES)),
    # The trainers work on latents an eighth of the image's side (TrainingSpec's check).
    Param("resolution", "rs", True, _scaled(0.5, 0.75, 1, 1.25, 1.5, to=16), multiple=8),
    Param("batch_size", "bs", True, _fixed(_POWERS)),
)
BY_CODE: Mapping[str, Param] = {p.code: p for p in PARAMS}
BY_NAME: Mapping[str, Param] = {p.name: p for p in PARAMS}
# Kept from the preset beside the settings: alpha follows the rank (see `Tuning._put_rank`).
KEPT = (*BY_NAME, "alpha")


def shown(name: str, value: Number) -> str:
    """A value as the person reads and types it: `1200`, `0.0005`, `5e-5`."""
    param = BY_NAME.get(name)
    if param is not None and param.integer:
        return str(int(value))
    return f"{value:g}".replace("e-0", "e-")


class BadValue(ValueError):
    """A value the offering does not allow; the message says which values it does."""


class Tuning(BaseModel):
    """The preset's values, the offering's bounds and the person's changes; JSON-serialisable."""

    title: str = ""  # the offering's
    preset: dict[str, Number] = Field(default_factory=dict)  # field → the preset's value
    bounds: dict[str, tuple[Number, Number]] = Field(default_factory=dict)  # field → low, high
    overrides: dict[str, Number] = Field(default_factory=dict)  # only values that differ
    editing: str | None = None  # the setting whose value is asked for (one at a time)

    @classmethod
    def of(cls, offering: OfferingOut, preset: str) -> Self:
        """The preset's values and the offering's bounds, nothing changed yet."""
        values = offering.presets[preset].model_dump()
        return cls(
            title=offering.title or offering.id,
            preset={name: values[name] for name in KEPT},
            bounds={
                name: (r["min"], r["max"]) for name, r in offering.bounds.items() if name in KEPT
            },
        )

    def value(self, name: str) -> Number:
        """The value the training will use."""
        return self.overrides.get(name, self.preset[name])

    def facts(self, param: Param) -> dict[str, str]:
        """The setting's label and bounds, as the texts show them."""
        low, high = self.bounds[param.name]
        name = param.name
        return {"label": t.LABELS[name], "low": shown(name, low), "high": shown(name, high)}

    def parse(self, param: Param, text: str) -> Number:
        """The typed `text` as a value of `param`, or BadValue saying what is allowed."""
        (low, high), name = self.bounds[param.name], param.name
        facts = self.facts(param)
        example = shown(name, self.preset[name])
        raw = text.strip().replace(" ", "").replace("_", "")
        value: Number
        try:
            # A decimal comma is how many people write a fraction; a whole number has none.
            value = int(raw) if param.integer else float(raw.replace(",", "."))
        except ValueError:
            template = t.NOT_WHOLE if param.integer else t.NOT_NUMBER
            raise BadValue(template.format(**facts, example=example)) from None
        if not math.isfinite(value):
            raise BadValue(t.NOT_NUMBER.format(**facts, example=example))
        if not low <= value <= high:
            raise BadValue(t.OUT_OF_BOUNDS.format(**facts, value=shown(name, value)))
        if not param.allows(value):
            step, value_shown = param.multiple, shown(name, value)
            raise BadValue(
                t.NOT_MULTIPLE.format(**facts, step=step, example=example, value=value_shown)
            )
        return value

    def answered(self, answers: Mapping[str, str]) -> Self:
        """A copy with the answers (field name → text) taken; BadValue lists every bad one."""
        changed, problems = self.model_copy(deep=True), []
        for name, text in answers.items():
            param = BY_NAME.get(name)
            if param is None:
                raise StaleAction(name)
            try:
                changed.put(param, changed.parse(param, text))
            except BadValue as bad:
                problems.append(str(bad))
        if problems:
            raise BadValue("\n".join(problems))
        return changed

    def put(self, param: Param, value: Number) -> None:
        """Use `value` for `param` (the preset's value again is no change)."""
        self._put(param.name, value)
        if param.name == "rank":
            self._put_rank(int(value))

    def _put(self, name: str, value: Number) -> None:
        if value == self.preset[name]:
            self.overrides.pop(name, None)
        else:
            self.overrides[name] = value

    def _put_rank(self, rank: int) -> None:
        # peft scales a LoRA's update by alpha / rank (LoraConfig's `lora_alpha`): keeping the
        # preset's ratio keeps the update's size, so the preset's learning rate still fits.
        low, high = self.bounds["alpha"]
        alpha = float(self.preset["alpha"]) * rank / int(self.preset["rank"])
        self._put("alpha", min(float(high), max(float(low), alpha)))

    def reset(self) -> Self:
        """A copy with the preset's values again."""
        return self.model_copy(update={"overrides": {}, "editing": None})

    def changes(self, preset: str) -> list[str]:
        """`Changed from preset fast:` and a line per changed value (none: no lines)."""
        lines = [
            t.CHANGE_LINE.format(
                label=t.LABELS[name],
                old=shown(name, self.preset[name]),
                new=shown(name, self.overrides[name]),
            )
            + (t.ALPHA_FOLLOWS if name == "alpha" else "")
            for name in KEPT
            if name in self.overrides
        ]
        return [t.CHANGED.format(preset=preset), *lines] if lines else []

    def choices(self, param: Param) -> list[Number]:
        """A few allowed values nearest the preset's, the current one among them, ascending."""
        low, high = self.bounds[param.name]
        base, current = self.preset[param.name], self.value(param.name)
        allowed = {
            int(v) if param.integer else v
            for v in param.ladder(base)
            if low <= v <= high and v > 0 and param.allows(v)
        } - {current}
        nearest = sorted(allowed, key=lambda v: abs(math.log(v / base)))[: MAX_CHOICES - 1]
        return sorted([*nearest, current])
