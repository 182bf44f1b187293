"""A price broken into its parts: what each part of a job costs, and the rate behind it.

Every price rule of `core.offerings` computes its exact (fractional) points per part and
charges their sum rounded up; `apportion` turns those exact amounts into whole points that sum
to exactly that charge, so the parts shown always add up to the cost.
"""

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PricePart:
    """One part of a price, e.g. `gpu_time`: its whole points and how they follow."""

    part: str
    points: int
    detail: str


@dataclass(frozen=True)
class ExactPart:
    """A part as the price rule computes it, before rounding to whole points."""

    part: str
    points: float
    detail: str


@dataclass(frozen=True)
class Breakdown:
    """The parts of one price; `total` is the price charged."""

    items: list[PricePart] = field(default_factory=list)
    rate: dict[str, float] = field(default_factory=dict)
    per_step: float | None = None

    @property
    def total(self) -> int:
        return sum(item.points for item in self.items)

    def plus(self, item: PricePart) -> "Breakdown":
        """The same breakdown with one more part (a whole-point one, e.g. a price per use)."""
        return Breakdown([*self.items, item], dict(self.rate), self.per_step)


def charge(exact: float) -> int:
    """Whole points charged for an exact amount: rounded up."""
    # round(…, 9) first so float noise (6.000000001) does not add a whole point.
    return math.ceil(round(exact, 9))


def apportion(
    parts: list[ExactPart], rate: dict[str, float], per_step: float | None = None
) -> Breakdown:
    """Whole points per part that sum to the charge of their exact total.

    Largest remainder: each part gets its exact amount rounded down, and the points the
    rounding-up of the total adds go one each to the parts with the largest fractions.
    """
    total = charge(sum(part.points for part in parts))
    floors = [math.floor(round(part.points, 9)) for part in parts]
    left = total - sum(floors)
    by_fraction = sorted(
        range(len(parts)), key=lambda i: (-(round(parts[i].points, 9) - floors[i]), i)
    )
    for index in by_fraction[:left]:
        floors[index] += 1
    items = [
        PricePart(part.part, points, part.detail)
        for part, points in zip(parts, floors, strict=True)
    ]
    return Breakdown(items, rate, per_step)
