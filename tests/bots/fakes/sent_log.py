"""What both fake servers share: a log of what the bot sent, and waiting on it."""

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Generic, TypeVar

SentT = TypeVar("SentT")


class SentLog(Generic[SentT]):  # noqa: UP046 (Python 3.11)
    """Mixin for a fake server that appends to `self.log` and calls `_notify()` after."""

    log: list[SentT]
    _changed: asyncio.Condition

    def describe(self, sent: SentT) -> str:
        """One line about an entry, for the message of a failed wait."""
        return repr(sent)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(
        self, predicate: Callable[[SentT], bool], timeout: float = 30.0, *, after: int = 0
    ) -> SentT:
        """The first logged entry (from index `after`) matching `predicate`."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                for sent in self.log[after:]:
                    if predicate(sent):
                        return sent
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [self.describe(s) for s in self.log[after:]]
                    raise AssertionError(f"timed out; the bot sent: {seen}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), left)
