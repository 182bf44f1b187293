"""`/stats` and `/spending`: a short text and one chart picture each, from the daemon's
analytics and cost routes (the chart is drawn by the daemon from the same figures)."""

from bots.common import insights_texts
from bots.common.client import DaemonClient
from bots.common.outgoing import Outgoing, OutKind
from bots.common.schemas import Actor
from core.enums import CostPeriod


async def stats(client: DaemonClient, actor: Actor) -> list[Outgoing]:
    """The last 30 days' trainings and job costs, the datasets, and the cost-by-day chart."""
    trainings = await client.training_analytics(actor)
    datasets = await client.dataset_analytics(actor)
    # The chart of exactly the days the text is about, even across midnight.
    chart = await client.training_chart(actor, trainings.from_, trainings.to)
    text = insights_texts.stats(trainings, datasets)
    return [Outgoing(OutKind.photo, text=text, filename="stats.png", data=chart)]


async def spending(client: DaemonClient, actor: Actor) -> list[Outgoing]:
    """The last 30 days' costs by type against the 30 before, and their daily chart."""
    costs = await client.costs(actor, CostPeriod.month)
    chart = await client.costs_chart(actor, CostPeriod.month)
    text = insights_texts.spending(costs)
    return [Outgoing(OutKind.photo, text=text, filename="spending.png", data=chart)]
