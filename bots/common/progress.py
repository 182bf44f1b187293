"""Live job progress: one message per job, edited in place, at most once per interval per chat.

Each message is recorded in the daemon, so a restarted bot (or another replica) resumes editing
the messages of jobs that are not final yet.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable

import structlog

from bots.common import i18n, texts
from bots.common.actions import Action
from bots.common.client import DaemonClient
from bots.common.errors import DaemonUnavailable, RpcError
from bots.common.schemas import Actor
from bots.common.screens import Button
from daemon.schemas import JobOut, ResumedMessageOut

log = structlog.get_logger(__name__)

Render = Callable[[str, list[list[Button]]], Awaitable[None]]
# How a front-end edits a message recorded by an earlier process.
RenderFor = Callable[[ResumedMessageOut], Render]


class ChatThrottle:
    """Spaces edits in one chat at least `interval` seconds apart (platforms rate-limit edits)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: dict[Hashable, float] = {}
        self._locks: dict[Hashable, asyncio.Lock] = {}

    async def wait(self, chat: Hashable) -> None:
        """Sleep until this chat may be edited again, then claim the slot."""
        lock = self._locks.setdefault(chat, asyncio.Lock())
        async with lock:
            due = self._last.get(chat, float("-inf")) + self.interval
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._last[chat] = time.monotonic()


def cancel_row(job: JobOut) -> list[list[Button]]:
    """The Cancel button of a job that can still be cancelled."""
    return [] if job.is_final else [[Button(texts.CANCEL_JOB, Action.cancel_job, str(job.id))]]


async def track_job(
    client: DaemonClient,
    actor: Actor,
    job_id: int,
    render: Render,
    throttle: ChatThrottle,
    chat: Hashable,
    *,
    poll: float = 2.0,
    shown: str = "",
) -> JobOut:
    """Edit the job's message with its progress until the job is final; return the final job."""
    while True:
        try:
            job = await client.job(actor, job_id)
        except (DaemonUnavailable, RpcError) as exc:
            log.warning("progress_poll_failed", job_id=job_id, error=str(exc))
            await asyncio.sleep(poll)
            continue
        text = texts.job_progress(job)
        if text != shown:
            await throttle.wait(chat)
            # The wait may have been long: show the freshest state, not the one read before.
            job = await client.job(actor, job_id)
            text = texts.job_progress(job)
            await render(text, cancel_row(job))
            shown = text
        if job.is_final:
            return job
        await asyncio.sleep(poll)


class ProgressBoard:
    """A bot's live progress messages: one tracker task per job, one throttle for all chats."""

    def __init__(self, client: DaemonClient, interval: float, poll: float | None = None) -> None:
        self.client = client
        self.throttle = ChatThrottle(interval)
        self.poll = min(2.0, interval) if poll is None else poll
        self._tasks: dict[int, asyncio.Task[JobOut]] = {}

    def follow(
        self, actor: Actor, job: JobOut, chat: Hashable, render: Render, shown: str
    ) -> bool:
        """Keep a job's message up to date until the job is final (once per job)."""
        return self._track(actor, job.id, chat, render, shown)

    def _track(
        self, actor: Actor, job_id: int, chat: Hashable, render: Render, shown: str
    ) -> bool:
        if job_id in self._tasks and not self._tasks[job_id].done():
            return False
        coro = track_job(
            self.client, actor, job_id, render, self.throttle, chat, poll=self.poll, shown=shown
        )
        task = asyncio.ensure_future(coro)
        self._tasks[job_id] = task
        task.add_done_callback(self._finished(job_id))
        return True

    async def record(
        self, actor: Actor, job_id: int, platform: str, chat_id: int, message_id: int
    ) -> None:
        """Tell the daemon which message shows the job's progress; a failure only costs the
        resumption after a restart, so it is logged, not raised."""
        try:
            await self.client.record_progress_message(actor, job_id, platform, chat_id, message_id)
        except (DaemonUnavailable, RpcError) as exc:
            log.warning("progress_message_not_recorded", job_id=job_id, error=str(exc))

    async def resume(self, platform: str, render_for: RenderFor) -> int:
        """Go on editing the platform's recorded messages of unfinished jobs (on start-up);
        how many are followed again."""
        try:
            records = await self.client.progress_messages(platform)
        except (DaemonUnavailable, RpcError) as exc:
            log.warning("progress_messages_not_resumed", platform=platform, error=str(exc))
            return 0
        resumed = 0
        for found in records:
            actor = Actor(platform=platform, user_id=found.platform_user_id)
            # Chats are throttled by the platform's integer id, as when the message was sent;
            # `shown` is unknown, so the first poll edits the message with the state of now.
            chat = int(found.chat_id) if found.chat_id.lstrip("-").isdigit() else found.chat_id
            # No person is in context at start-up: the tracker (which copies the context as
            # it starts) speaks the owner's language as the daemon keeps it.
            with i18n.use_locale(await self._language(actor)):
                resumed += self._track(actor, found.job_id, chat, render_for(found), "")
        log.info("progress_messages_resumed", platform=platform, count=resumed)
        return resumed

    async def _language(self, actor: Actor) -> str | None:
        try:
            return (await self.client.language(actor)).language
        except (DaemonUnavailable, RpcError):
            return None  # English, as a message with no known reader

    def _finished(self, job_id: int) -> Callable[[asyncio.Task[JobOut]], None]:
        def done(task: asyncio.Task[JobOut]) -> None:
            if self._tasks.get(job_id) is task:
                del self._tasks[job_id]
            if not task.cancelled() and task.exception() is not None:
                log.error("progress_task_failed", job_id=job_id, error=repr(task.exception()))

        return done

    async def close(self) -> None:
        """Cancel and await every tracker."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
