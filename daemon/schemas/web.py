"""The web dashboard's wire shapes: the sign-in link a bot sends."""

from datetime import datetime

from pydantic import Field

from daemon.schemas.common import KEY, Answer, Body
from daemon.schemas.jobs import MAX_STEPS, JobOut, MetricPoint, SampleOut


class WebLinkOut(Answer):
    url: str = Field(description="Opens the dashboard signed in; works once, until expires_at.")
    expires_at: datetime
    expires_in_seconds: int


class TrainForm(Body):
    """The dataset page's form that starts a training (the fields of `JobIn` a page offers)."""

    offering_id: str = Field(min_length=1, max_length=64)
    preset: str = Field("balanced", min_length=1, max_length=32)
    steps: int | None = Field(None, ge=1, le=MAX_STEPS)
    idempotency_key: str = KEY


class MonitorOut(Answer):
    """What the live training monitor shows of a job, pushed on each change."""

    job: JobOut
    points: list[MetricPoint] = Field(description="The loss curve so far, by step.")
    sample: SampleOut | None = Field(description="The newest checkpoint's sample image.")
