"""In-process wake-ups: a submit wakes the dispatcher, a new notification wakes long polls, a
job's progress or status wakes the web dashboard's live monitors.

Several replicas on PostgreSQL relay each wake-up to the others (`daemon.pg_events`): every
call here fires locally and hands the wake to the relay; a wake heard from a peer fires
locally only (`heard`), so nothing echoes.
"""

import asyncio
from collections.abc import Callable
from enum import StrEnum


class Wake(StrEnum):
    """What a wake-up is about (what a relay carries between replicas)."""

    jobs = "jobs"  # the queue changed: the dispatcher looks at once
    notifications = "notifications"  # a platform's bot has notifications (the payload)
    job_updates = "job_updates"  # some job's progress or status was written


class _Signal:
    """Wakes every current waiter once; a generation number lets a waiter notice a missed fire."""

    def __init__(self) -> None:
        self.generation = 0
        self._event = asyncio.Event()

    def fire(self) -> None:
        self.generation += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float, after: int | None = None) -> bool:
        if after is not None and self.generation != after:
            return True
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        return True


class Events:
    """The daemon's wake-up signals (one process; the database stays the source of truth)."""

    def __init__(self) -> None:
        self._jobs = asyncio.Event()
        self._notifications: dict[str, _Signal] = {}
        self._job_updates = _Signal()
        self._relay: Callable[[Wake, str], None] | None = None

    def relay_to(self, relay: Callable[[Wake, str], None] | None) -> None:
        """Hand every local wake-up to `relay` too (None: this process only)."""
        self._relay = relay

    def heard(self, wake: Wake, payload: str = "") -> None:
        """A wake-up another replica sent: fire it here, without relaying it back."""
        match wake:
            case Wake.jobs:
                self._jobs.set()
                self._job_updates.fire()
            case Wake.notifications:
                self._signal(payload).fire()
            case Wake.job_updates:
                self._job_updates.fire()

    def _send(self, wake: Wake, payload: str = "") -> None:
        if self._relay is not None:
            self._relay(wake, payload)

    def jobs_changed(self) -> None:
        """Say the queue changed (submit, cancel, requeue) so the dispatcher looks at once."""
        self.heard(Wake.jobs)  # a queue change is a status change the monitors show, too
        self._send(Wake.jobs)

    def job_updated(self) -> None:
        """Say some job's progress or status was written (one signal for all jobs: a monitor
        re-reads its own job, which is one primary-key read)."""
        self.heard(Wake.job_updates)
        self._send(Wake.job_updates)

    def job_updates_generation(self) -> int:
        """A counter to read before reading a job and pass as `after` to the wait."""
        return self._job_updates.generation

    async def wait_job_updated(self, timeout: float, after: int | None = None) -> bool:
        """Wait up to `timeout` seconds for any job's progress or status to change."""
        return await self._job_updates.wait(timeout, after)

    async def wait_jobs_changed(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for a queue change; consume it and say if it came."""
        try:
            await asyncio.wait_for(self._jobs.wait(), timeout)
        except TimeoutError:
            return False
        self._jobs.clear()
        return True

    def _signal(self, platform: str) -> _Signal:
        return self._notifications.setdefault(str(platform), _Signal())

    def notifications_added(self, platform: str) -> None:
        """Wake the long polls of a platform's bot."""
        self.heard(Wake.notifications, str(platform))
        self._send(Wake.notifications, str(platform))

    def notifications_generation(self, platform: str) -> int:
        """A counter to read before a database check and pass as `after` to the wait."""
        return self._signal(platform).generation

    async def wait_notifications(
        self, platform: str, timeout: float, after: int | None = None
    ) -> bool:
        """Wait up to `timeout` seconds for new notifications of a platform."""
        return await self._signal(platform).wait(timeout, after)
