"""The executor interface: start and stop attempts, stream their events; no job state here.

The lifecycle code (`core.lifecycle`, driven by `daemon.queue.dispatcher`) owns every state
change. An executor only runs what it is given and reports what its workers say, so another
backend (e.g. Ray actors on many GPU hosts) plugs in by implementing this class.
"""

import abc
import asyncio
from dataclasses import dataclass

from core.lifecycle import Attempt
from core.worker_protocol import JobFile, Message


def attempt_of_job_file(job: JobFile) -> Attempt:
    """The attempt a job file describes."""
    return Attempt(job.job_id, job.fencing_token)


@dataclass(frozen=True)
class Exited:
    """The worker is done with the attempt (the executor's own event, always an attempt's
    last): a cold worker exited, or a warm one answered the attempt's final message and went
    back to idle (`returncode` 0)."""

    returncode: int
    stderr_tail: str = ""


@dataclass(frozen=True)
class WorkerEvent:
    """A message of an attempt's worker (`core.worker_protocol`), or its `Exited`."""

    attempt: Attempt
    message: Message | Exited


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
    async def start(self, job: JobFile) -> None:
        """Start a worker for the attempt; its events follow, ending with `Exited`."""

    @abc.abstractmethod
    async def stop(self, attempt: Attempt, *, grace_seconds: float) -> None:
        """Ask the worker to stop, then terminate it, then kill it; returns once requested."""

    @abc.abstractmethod
    async def kill(self, attempt: Attempt) -> None:
        """Kill the worker at once (a stale attempt)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Kill every worker and wait for them (the daemon is stopping)."""
