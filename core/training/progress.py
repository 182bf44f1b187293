"""Progress reports and cancellation, shared with the worker without importing torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Stage = Literal["preparing", "training", "finishing"]


class TrainingCancelled(Exception):
    """Raised by `train` when `should_cancel()` asked it to stop; no outputs are left behind."""

    def __init__(self, step: int) -> None:
        super().__init__(f"training cancelled at step {step}")
        self.step = step


@dataclass(frozen=True)
class Progress:
    """One progress report handed to the `on_progress` callback."""

    stage: Stage
    """`preparing` (loading, caching), `training` (the loop) or `finishing` (saving, sampling)."""
    step: int = 0
    """Optimizer steps completed so far."""
    total_steps: int = 0
    """Optimizer steps the training will run in all."""
    loss: float | None = None
    """Smoothed training loss (exponential moving average) at `step`."""
    lr: float | None = None
    """Learning rate used for the last step."""
    steps_per_second: float | None = None
    """Throughput of this process since the loop started."""
    eta_seconds: float | None = None
    """Estimated seconds until the loop finishes."""
    message: str = ""
    """A short human-readable note about what is happening."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of all fields."""
        return asdict(self)
