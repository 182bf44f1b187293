"""Progress reports and cancellation, shared with the worker without importing torch."""

from __future__ import annotations

# The report the trainer makes is the one the worker sends: a single definition of its fields.
from core.worker_protocol import Progress

__all__ = ["Progress", "TrainingCancelled"]


class TrainingCancelled(Exception):
    """Raised by `train` when `should_cancel()` asked it to stop; no outputs are left behind."""

    def __init__(self, step: int) -> None:
        super().__init__(f"training cancelled at step {step}")
        self.step = step
