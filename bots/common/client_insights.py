"""`InsightsCalls`: the analytics and cost routes, and their chart pictures, for `DaemonClient`."""

from datetime import date

from bots.common.schemas import Actor
from bots.common.transport import Transport, clean
from core.enums import CostPeriod
from daemon.schemas import CostsOut, DatasetAnalyticsOut, TrainingAnalyticsOut


def _range(start: date | None, end: date | None) -> dict[str, str | None]:
    return {"from": start and start.isoformat(), "to": end and end.isoformat()}


class InsightsCalls(Transport):
    """A person's analytics and costs (a mixin of `DaemonClient`)."""

    async def training_analytics(
        self, actor: Actor, start: date | None = None, end: date | None = None
    ) -> TrainingAnalyticsOut:
        """Jobs and what they cost from `start` to `end` (default: the last 30 days)."""
        return await self._get(
            "/v1/analytics/trainings", actor, TrainingAnalyticsOut, **_range(start, end)
        )

    async def training_chart(
        self, actor: Actor, start: date | None = None, end: date | None = None
    ) -> bytes:
        """The PNG of points paid per day, by job kind."""
        params = clean(_range(start, end))
        _, body = await self._call(
            "GET", "/v1/analytics/trainings/chart.png", actor, params=params, raw=True
        )
        return bytes(body)

    async def dataset_analytics(self, actor: Actor) -> DatasetAnalyticsOut:
        """Datasets, images, bytes, paid uses and caption tags."""
        return await self._get("/v1/analytics/datasets", actor, DatasetAnalyticsOut)

    async def costs(self, actor: Actor, period: CostPeriod = CostPeriod.month) -> CostsOut:
        """Costs by type over a period, per day, and against the period before."""
        return await self._get("/v1/costs", actor, CostsOut, period=str(period))

    async def costs_chart(self, actor: Actor, period: CostPeriod = CostPeriod.month) -> bytes:
        """The PNG of points spent per day against the period before, and bought."""
        params = {"period": str(period)}
        _, body = await self._call("GET", "/v1/costs/chart.png", actor, params=params, raw=True)
        return bytes(body)
