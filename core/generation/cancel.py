"""The stop of a generation at the daemon's request (torch-free, so the worker can catch it
before torch is loaded)."""


class GenerationCancelled(Exception):
    """The daemon asked to stop; `step` denoising steps were done."""

    def __init__(self, step: int) -> None:
        super().__init__(f"cancelled after {step} steps")
        self.step = step
