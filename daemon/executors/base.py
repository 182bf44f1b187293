"""The executor interface: start and stop attempts, stream their events; no job state here.

The lifecycle code (`core.lifecycle`, driven by `daemon.queue.dispatcher`) owns every state
change. An executor only runs what it is given and reports what its workers say, so another
backend (e.g. Ray actors on many GPU hosts) plugs in by implementing this class.
"""

import abc
import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.lifecycle import Attempt


@dataclass(frozen=True)
class AttemptPlan:
    """Everything a worker needs for one attempt; serialised to JSON for the worker."""

    attempt: Attempt
    spec: dict[str, Any]
    images: list[tuple[Path, str]]
    out_dir: Path
    checkpoint_dir: Path
    data_dir: Path
    heartbeat_seconds: float

    def to_json(self) -> dict[str, Any]:
        """The job file of `core.training.worker`."""
        return {
            "job_id": self.attempt.job_id,
            "fencing_token": self.attempt.fencing_token,
            "spec": self.spec,
            "images": [{"path": str(path), "caption": caption} for path, caption in self.images],
            "out_dir": str(self.out_dir),
            "checkpoint_dir": str(self.checkpoint_dir),
            "data_dir": str(self.data_dir),
            "heartbeat_seconds": self.heartbeat_seconds,
        }


@dataclass(frozen=True)
class WorkerEvent:
    """One message of a worker (see `core.training.worker`), or `exit` when it ended."""

    attempt: Attempt
    type: str
    data: dict[str, Any] = field(default_factory=dict)


class Executor(abc.ABC):
    """Runs attempts in slots and puts their events on `events`."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[WorkerEvent] = asyncio.Queue()

    @property
    @abc.abstractmethod
    def slots(self) -> int:
        """How many attempts may run at once."""

    @abc.abstractmethod
    def running(self) -> set[Attempt]:
        """Attempts whose worker is still alive (including ones being stopped)."""

    def free_slots(self) -> int:
        """Slots not taken by a live worker."""
        return max(self.slots - len(self.running()), 0)

    @abc.abstractmethod
    async def start(self, plan: AttemptPlan) -> None:
        """Start a worker for the attempt; its events follow, ending with `exit`."""

    @abc.abstractmethod
    async def stop(self, attempt: Attempt, *, grace_seconds: float) -> None:
        """Ask the worker to stop, then terminate it, then kill it; returns once requested."""

    @abc.abstractmethod
    async def kill(self, attempt: Attempt) -> None:
        """Kill the worker at once (a stale attempt)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Kill every worker and wait for them (the daemon is stopping)."""
