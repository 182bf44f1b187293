"""The bots' delivery channel: pending notifications and their acknowledgement."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from core.enums import Platform
from daemon.schemas.common import BODY_ID, Answer, Body
from daemon.schemas.languages import Language

MAX_WAIT_SECONDS = 60.0
# As many as `core.notifications.fetch_pending` leases at once.
MAX_NOTIFICATIONS = 100


class NotificationsQuery(Body):
    platform: Platform
    wait: float = Field(
        0.0, ge=0.0, le=MAX_WAIT_SECONDS, description="Seconds to wait when none are pending."
    )
    limit: int = Field(50, ge=1, le=MAX_NOTIFICATIONS)


class NotificationOut(Answer):
    id: int
    kind: str
    account_id: int
    platform: Platform
    platform_user_id: str
    payload: dict[str, Any]
    created_at: datetime
    deliveries: int
    language: Language = Field(
        "en", description="The recipient's language: their choice, else their platform's, else en."
    )


class NotificationsOut(Answer):
    notifications: list[NotificationOut]


class AckIn(Body):
    ids: list[Annotated[int, BODY_ID]] = Field(
        max_length=1000, description="Ids of delivered notifications."
    )


class AckOut(Answer):
    acknowledged: int
