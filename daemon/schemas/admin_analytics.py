"""Operator analytics: every account's figures over a range of UTC days (`RangeQuery`)."""

from datetime import date
from typing import TYPE_CHECKING, Self

from pydantic import ConfigDict, Field

from daemon.schemas.common import Answer

if TYPE_CHECKING:
    from core.operator_analytics import OperatorAnalytics


class OperatorDayOut(Answer):
    date: date
    jobs_submitted: int
    jobs_completed: int
    jobs_failed: int
    points_spent: int = Field(description="Debits of every job kind less their refunds.")
    points_bought: int = Field(description="Points of the purchases credited that day.")


class QueueWaitOut(Answer):
    count: int = Field(description="Jobs first started in the range.")
    p50: float | None = Field(description="Seconds from submission to first start (median).")
    p95: float | None


class SlotBusyOut(Answer):
    slot: str = Field(description="The lease owner of the attempts: `host:pid:run` of a daemon.")
    seconds: float


class ReasonCountOut(Answer):
    reason: str = Field(description="e.g. lease_expired, stalled, worker_exited, ValueError.")
    count: int


class OfferingFiguresOut(Answer):
    offering_id: str
    jobs: int
    points: int = Field(description="Net of refunds.")


class RevenueOut(Answer):
    points_bought: int
    purchases: int
    by_provider: dict[str, int]


class OperatorAnalyticsOut(Answer):
    """Every account's jobs, points, queue and workers over a range of days."""

    model_config = ConfigDict(from_attributes=True, validate_by_name=True, serialize_by_alias=True)

    start: date = Field(alias="from")
    end: date = Field(alias="to")
    days: list[OperatorDayOut] = Field(description="Every day of the range, zeros included.")
    queue_wait_seconds: QueueWaitOut
    gpu_busy_seconds: list[SlotBusyOut]
    failures_by_reason: list[ReasonCountOut] = Field(description="Most frequent first.")
    top_offerings: list[OfferingFiguresOut] = Field(description="Most points first, at most 10.")
    revenue: RevenueOut

    @classmethod
    def of(cls, figures: "OperatorAnalytics") -> Self:
        """The domain's figures on the wire."""
        return cls(
            start=figures.start,
            end=figures.end,
            days=[
                OperatorDayOut.model_validate({**vars(day), "date": day.day})
                for day in figures.days
            ],
            queue_wait_seconds=QueueWaitOut.model_validate(figures.queue_wait),
            gpu_busy_seconds=[SlotBusyOut.model_validate(s) for s in figures.gpu_busy_seconds],
            failures_by_reason=[
                ReasonCountOut.model_validate(r) for r in figures.failures_by_reason
            ],
            top_offerings=[OfferingFiguresOut.model_validate(o) for o in figures.top_offerings],
            revenue=RevenueOut.model_validate(figures.revenue),
        )
