"""Discord's rules for answering an interaction, as the fake enforces them.

- The initial response (`POST /interactions/{id}/{token}/callback`) must arrive within 3 s of
  the interaction being sent; later it is 404 `Unknown interaction` (code 10062), and a second
  one is 400 `Interaction has already been acknowledged` (40060).
- Each response type fits some interaction types only: a modal cannot answer a modal, a slash
  command has no message to update.
- Follow-ups and the original response (`/webhooks/{app}/{token}`) exist only once the
  interaction was acknowledged (else 404 `Unknown Webhook`, 10015). After a deferred channel
  message (type 5), the first follow-up — or the first edit of `@original` — fills the
  "thinking…" message and keeps the visibility chosen when deferring; later follow-ups are
  messages of their own. After a deferred update (type 6) or an update (7), `@original` is the
  message the button was on.
"""

import time
from dataclasses import dataclass, field
from typing import Any

from tests.bots.fakes.discord_entitlements import DiscordApiError

WINDOW = 3.0  # seconds to answer an interaction
COMMAND, COMPONENT, MODAL_SUBMIT = 2, 3, 5
MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE, MODAL = 4, 5, 6, 7, 9
ALLOWED = {
    COMMAND: {MESSAGE, DEFERRED_MESSAGE, MODAL},
    COMPONENT: {MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE, MODAL},
    MODAL_SUBMIT: {MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE},
}


@dataclass
class Pending:
    """One interaction sent to the bot, and how it was answered."""

    token: str
    type: int
    message_id: int | None = None  # the message of the pressed button (or the modal's button)
    sent_at: float = field(default_factory=time.monotonic)
    responses: list[dict[str, Any]] = field(default_factory=list)
    acked_at: float | None = None
    original: int | None = None  # the message `@original` names
    loading_flags: int | None = None  # deferred with "thinking…": the flags it keeps

    @property
    def late(self) -> float | None:
        """Seconds past the window of the initial response; None when in time (or unanswered)."""
        if self.acked_at is None:
            return None
        over = self.acked_at - self.sent_at - WINDOW
        return over if over > 0 else None

    def respond(self, payload: dict[str, Any]) -> None:
        """Check an initial response against the rules and record it."""
        if self.acked_at is not None:
            raise DiscordApiError(400, "Interaction has already been acknowledged.", 40060)
        if time.monotonic() - self.sent_at > WINDOW:
            raise DiscordApiError(404, "Unknown interaction", 10062)
        kind = payload["type"]
        if kind not in ALLOWED[self.type]:
            raise DiscordApiError(400, f"Invalid response type {kind} here", 50035)
        self.acked_at = time.monotonic()
        self.responses.append(payload)
        if kind == DEFERRED_MESSAGE:
            self.loading_flags = int((payload.get("data") or {}).get("flags") or 0)
        elif kind in (DEFERRED_UPDATE, UPDATE):
            self.original = self.message_id

    def webhook(self) -> None:
        """Refuse a follow-up or an edit of the original before the interaction was answered."""
        if self.acked_at is None:
            raise DiscordApiError(404, "Unknown Webhook", 10015)

    def fills_loading(self) -> bool:
        """Whether the next follow-up (or edit of `@original`) fills the "thinking…" message."""
        return self.loading_flags is not None and self.original is None
