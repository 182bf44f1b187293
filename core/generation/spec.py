"""The generation spec: one generation request as the worker runs it, JSON and torch-free."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

FAMILIES = ("sd15", "sdxl", "flux")
MAX_STRENGTH = 2.0
SHEET_SIZES = (2, 8)  # the fewest and most strengths of a strength sheet
# The roles of a generation's result files: `image-0`, `image-1`, …, and `sheet`.
IMAGE_ROLE_PREFIX = "image-"
SHEET_ROLE = "sheet"


def image_role(index: int) -> str:
    """The result role of the index-th image."""
    return f"{IMAGE_ROLE_PREFIX}{index}"


@dataclass
class GenerationSpec:
    """Everything a worker needs to render a generation (the daemon stores it as the job's
    params; `to_dict` / `from_dict`)."""

    base_model: str = field(metadata={"help": "The base model's location (the warm key)."})
    prompt: str = field(metadata={"help": "What to draw."})
    seed: int = field(metadata={"help": "Seed of the first image; image i uses seed + i."})
    steps: int = field(metadata={"help": "Denoising steps per image."})
    resolution: int = field(metadata={"help": "Side length of the square images."})
    family: str = field(default="sd15", metadata={"help": "Base family: sd15, sdxl or flux."})
    base_model_config: str = field(
        default="", metadata={"help": "Configs of a single-file base model (offline)."}
    )
    negative_prompt: str = ""
    count: int = field(default=1, metadata={"help": "Images to render, seeds seed, seed+1, …"})
    strength: float = field(default=1.0, metadata={"help": "LoRA weight; 0 disables it."})
    strengths: list[float] | None = field(
        default=None,
        metadata={"help": "A strength sheet: the same seed at each of these LoRA weights."},
    )
    model_id: int = field(default=0, metadata={"help": "The model whose LoRA is used."})

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError when a field is out of range."""
        low, high = SHEET_SIZES
        weights = [self.strength, *(self.strengths or [])]
        checks = [
            (self.family in FAMILIES, f"family must be one of {FAMILIES}"),
            (bool(self.prompt.strip()), "prompt must not be empty"),
            (self.seed >= 0, "seed must be >= 0"),
            (self.steps >= 1, "steps must be >= 1"),
            (self.resolution >= 8 and self.resolution % 8 == 0, "resolution: multiple of 8"),
            (self.count >= 1, "count must be >= 1"),
            (all(0.0 <= w <= MAX_STRENGTH for w in weights), f"strengths in 0..{MAX_STRENGTH}"),
            (
                self.strengths is None or (low <= len(self.strengths) <= high and self.count == 1),
                f"a strength sheet has {low} to {high} strengths and count 1",
            ),
        ]
        errors = [message for ok, message in checks if not ok]
        if errors:
            raise ValueError("invalid GenerationSpec: " + "; ".join(errors))

    @property
    def images(self) -> int:
        """Images rendered: one per strength of a sheet, else `count`."""
        return len(self.strengths) if self.strengths else self.count

    @property
    def total_steps(self) -> int:
        """Denoising steps over all images (the job's unit of progress)."""
        return self.images * self.steps

    def plan(self) -> list[tuple[int, float]]:
        """(seed, strength) of each image, in order."""
        if self.strengths:
            return [(self.seed, weight) for weight in self.strengths]
        return [(self.seed + i, self.strength) for i in range(self.count)]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of all fields."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationSpec:
        """Build a spec from `to_dict` output; unknown keys are refused."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown GenerationSpec fields: {unknown}")
        return cls(**data)
