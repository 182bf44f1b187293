"""A person's analytics (jobs and datasets) and cost dashboard: the queries and answers."""

import datetime as dt
import re
from typing import TYPE_CHECKING, Any, Self

from pydantic import ConfigDict, Field, field_validator

from core.enums import CostPeriod, JobKind, JobStatus, Visibility
from daemon.schemas.common import Answer, Body

if TYPE_CHECKING:
    from core.analytics import DatasetAnalytics, TrainingAnalytics
    from core.costs import CostReport, CostTotals, CostWindow
    from core.date_ranges import DateRange

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# `from` is a Python keyword: the field is `from_` and `from` on the wire, both ways.
BY_ALIAS = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)


class RangeQuery(Body):
    model_config = ConfigDict(extra="forbid", **BY_ALIAS)

    from_: dt.date | None = Field(
        None, alias="from", description="First UTC day, YYYY-MM-DD (default: 29 days before to)."
    )
    to: dt.date | None = Field(None, description="Last UTC day, included (default: today).")

    @field_validator("from_", "to", mode="before")
    @classmethod
    def _iso(cls, value: Any) -> Any:
        # Only the ISO form: pydantic alone would also read a number as a Unix timestamp.
        if isinstance(value, str) and not ISO_DATE.match(value):
            raise ValueError(f"{value[:20]!r} is not a date as YYYY-MM-DD")
        return value


class CostsQuery(RangeQuery):
    period: CostPeriod = Field(
        CostPeriod.month,
        description="week, month or year: the last 7 / 30 / 365 days; custom: from and to.",
    )


class Dated(Answer):
    """An answer about the UTC days `from` to `to`, both included."""

    model_config = ConfigDict(from_attributes=True, **BY_ALIAS)

    from_: dt.date = Field(alias="from")
    to: dt.date

    @staticmethod
    def days(window: "DateRange") -> dict[str, dt.date]:
        return {"from_": window.start, "to": window.end}


class JobCounts(Answer):
    total: int
    by_status: dict[JobStatus, int] = Field(description="Every status, zeros included.")


class TrainingTotalsOut(Answer):
    total: int
    completed: int
    failed: int
    cancelled: int
    running: int
    queued: int
    success_rate: float | None = Field(description="completed / (completed + failed).")
    average_seconds: float | None = Field(description="Started to finished, completed ones.")
    total_cost: int = Field(description="Points, net of refunds.")
    average_cost: int | None


class DayCostOut(Answer):
    date: dt.date
    points: int = Field(description="Debits of every job kind that day minus its refunds.")
    by_kind: dict[JobKind, int]


class OfferingShareOut(Answer):
    offering_id: str
    jobs: int
    points: int = Field(description="Net of refunds.")


class KindShareOut(Answer):
    kind: JobKind
    jobs: int
    points: int = Field(description="Net of refunds.")


class TrainingAnalyticsOut(Dated):
    """Jobs created in the range; what was paid for jobs each day of it."""

    jobs: JobCounts
    trainings: TrainingTotalsOut
    cost_by_day: list[DayCostOut] = Field(description="Every day of the range, in order.")
    by_offering: list[OfferingShareOut] = Field(description="Most points first.")
    by_kind: list[KindShareOut] = Field(description="train, caption, generate.")

    @classmethod
    def of(cls, report: "TrainingAnalytics") -> Self:
        """The wire shape of a training analytics record."""
        return cls(
            **cls.days(report.window),
            jobs=JobCounts(total=report.jobs_total, by_status=report.jobs_by_status),
            trainings=TrainingTotalsOut.model_validate(report.trainings),
            cost_by_day=[DayCostOut.model_validate(day) for day in report.cost_by_day],
            by_offering=[
                OfferingShareOut(offering_id=s.key, jobs=s.jobs, points=s.points)
                for s in report.by_offering
            ],
            by_kind=[
                KindShareOut(kind=JobKind(s.key), jobs=s.jobs, points=s.points)
                for s in report.by_kind
            ],
        )


class DatasetTotals(Answer):
    datasets: int
    images: int
    bytes: int


class DatasetStatsOut(Answer):
    id: int
    name: str
    images: int
    bytes: int
    visibility: Visibility
    uses: int = Field(description="Paid uses by others.")
    trainings: int = Field(description="The owner's own trainings on it.")


class TagCount(Answer):
    tag: str
    count: int


class DatasetAnalyticsOut(Answer):
    totals: DatasetTotals
    by_visibility: dict[Visibility, int]
    uses: int = Field(description="Paid uses by others, of all the datasets.")
    datasets: list[DatasetStatsOut] = Field(description="Newest first, at most 100.")
    tag_frequency: list[TagCount] = Field(
        description="Comma-separated caption tags, lower-cased; most frequent first, ≤ 50."
    )

    @classmethod
    def of(cls, report: "DatasetAnalytics") -> Self:
        """The wire shape of a dataset analytics record."""
        return cls(
            totals=DatasetTotals(
                datasets=report.datasets_total,
                images=report.images_total,
                bytes=report.bytes_total,
            ),
            by_visibility=report.by_visibility,
            uses=report.uses,
            datasets=[DatasetStatsOut.model_validate(d) for d in report.datasets],
            tag_frequency=[TagCount(tag=tag, count=n) for tag, n in report.tag_frequency],
        )


class CostTotalsOut(Answer):
    """Non-negative points: debits by kind, purchases (net of purchase refunds), royalties
    earned (net of reversals), refunds, and spent = debits − refunds."""

    training: int
    captioning: int
    generation: int
    purchases: int
    royalties_earned: int
    refunds: int
    spent: int


class CostDayOut(CostTotalsOut):
    date: dt.date

    @classmethod
    def of(cls, day: dt.date, totals: "CostTotals") -> Self:
        return cls(date=day, **totals.as_dict())


class CostWindowOut(Dated):
    totals: CostTotalsOut
    daily: list[CostDayOut] = Field(description="Every day, in order.")

    @classmethod
    def of(cls, window: "CostWindow") -> Self:
        """The wire shape of one window of a cost report."""
        return cls(
            **cls.days(window.window),
            totals=CostTotalsOut.model_validate(window.totals),
            daily=[CostDayOut.of(day, totals) for day, totals in window.daily],
        )


class CostChangeOut(Answer):
    points: int = Field(description="This window minus the previous one.")
    percent: float | None = Field(description="Of the previous window; null when it was 0.")


class CostChanges(Answer):
    training: CostChangeOut
    captioning: CostChangeOut
    generation: CostChangeOut
    purchases: CostChangeOut
    royalties_earned: CostChangeOut
    refunds: CostChangeOut
    spent: CostChangeOut


class CostsOut(CostWindowOut):
    period: CostPeriod
    previous: CostWindowOut = Field(description="The window of equal length right before.")
    change: CostChanges

    @classmethod
    def of(cls, report: "CostReport") -> Self:
        """The wire shape of a cost report."""
        return cls(
            **dict(CostWindowOut.of(report.current)),
            period=report.period,
            previous=CostWindowOut.of(report.previous),
            change=CostChanges.model_validate(report.change),
        )
