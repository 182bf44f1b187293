"""What a caption worker is asked to do: the captioner, the style, the trigger word, lengths."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from core.captioning.styles import STYLES, styled

# BLIP's own captioning demo decodes with beam search (3 beams) and at least 5 new tokens
# (Li et al. 2022, salesforce/BLIP `demo.ipynb`); shorter captions say little.
DEFAULT_NUM_BEAMS = 3
DEFAULT_MIN_NEW_TOKENS = 5


@dataclass(frozen=True)
class CaptionSpec:
    """One caption job as its worker runs it (JSON in the job file, checked on both ends)."""

    captioner: str = field(metadata={"help": "`builtin:tiny-blip` or a local BLIP folder."})
    style: str = field(default="sentence", metadata={"help": "sentence | tags"})
    trigger_word: str = field(default="", metadata={"help": "The dataset's trigger word."})
    trigger_first: bool = field(
        default=True, metadata={"help": "Put the trigger word first in every caption."}
    )
    max_new_tokens: int = field(default=30, metadata={"help": "Longest caption, in tokens."})
    min_new_tokens: int = field(
        default=DEFAULT_MIN_NEW_TOKENS, metadata={"help": "Shortest caption, in tokens."}
    )
    num_beams: int = field(default=DEFAULT_NUM_BEAMS, metadata={"help": "Beam search width."})
    max_chars: int = field(default=500, metadata={"help": "Longest stored caption (chars)."})

    def __post_init__(self) -> None:
        if not self.captioner:
            raise ValueError("a caption spec needs a captioner location")
        if self.style not in STYLES:
            raise ValueError(f"unknown caption style {self.style!r}; known: {list(STYLES)}")
        for name in ("max_new_tokens", "num_beams", "max_chars"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not 0 <= self.min_new_tokens <= self.max_new_tokens:
            raise ValueError("min_new_tokens must be within 0..max_new_tokens")

    def to_dict(self) -> dict[str, Any]:
        """The spec as JSON-ready data (the job's `params`)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaptionSpec:
        """Build a spec from `to_dict` output; unknown keys are refused."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown CaptionSpec fields: {unknown}")
        return cls(**data)

    def finish(self, raw: str) -> str:
        """The caption stored for a raw captioner sentence (`core.captioning.styles`)."""
        return styled(
            raw,
            style=self.style,
            trigger_word=self.trigger_word,
            trigger_first=self.trigger_first,
            max_chars=self.max_chars,
        )
