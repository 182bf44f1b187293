"""What `/stats` and `/spending` say (plain text, front-end neutral)."""

from bots.common import texts
from bots.common.i18n import _, gettext
from daemon.schemas import (
    CostChangeOut,
    CostsOut,
    DatasetAnalyticsOut,
    TrainingAnalyticsOut,
)

STATS_HEADER = _("Your last {days} days ({start} to {end}):")
TRAININGS = _(
    "Trainings: {total} — {completed} completed, {failed} failed, {cancelled} cancelled, "
    "{waiting} queued or running"
)
NO_TRAININGS = _("Trainings: none in these days.")
QUALITY = _("Success rate: {rate} · average duration: {duration}")
JOB_POINTS = _(
    "Points spent on jobs: {points} (training {train}, captioning {caption}, "
    "generation {generate})"
)
DATASETS = _("Datasets: {datasets} with {images} images ({size}), used {uses} time(s) by others")
TOP_TAGS = _("Most used tags: {tags}")

SPENDING_HEADER = _("Your spending, {start} to {end} — against the {days} days before:")
SPENT = _("Spent: {points} points ({change})")
BY_TYPE = _("By type: training {training}, captioning {captioning}, generation {generation}")
REFUNDS = _("Refunded: {refunds} points ({change})")
BOUGHT = _("Bought: {purchases} points ({change})")
EARNED = _("Royalties earned: {royalties_earned} points ({change})")
MAX_TAGS_SHOWN = 5


def duration(seconds: float | None) -> str:
    """`45 s`, `3 min 20 s`, `2 h 5 min`; `—` when there is none."""
    return "—" if seconds is None else texts.duration(seconds)


def size(count: int) -> str:
    """Bytes as `512 B`, `3.4 KB`, `1.2 MB`, `2.0 GB`."""
    value = float(count)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def stats(trainings: TrainingAnalyticsOut, datasets: DatasetAnalyticsOut) -> str:
    """The /stats text: trainings and what jobs cost over the range, and the datasets."""
    t = trainings.trainings
    lines = [
        STATS_HEADER.format(
            days=len(trainings.cost_by_day), start=trainings.from_, end=trainings.to
        )
    ]
    if t.total:
        lines.append(
            TRAININGS.format(
                total=t.total, completed=t.completed, failed=t.failed,
                cancelled=t.cancelled, waiting=t.queued + t.running,
            )
        )  # fmt: skip
        rate = "—" if t.success_rate is None else f"{t.success_rate:.0%}"
        lines.append(QUALITY.format(rate=rate, duration=duration(t.average_seconds)))
    else:
        lines.append(NO_TRAININGS)
    by_kind = {share.kind: share.points for share in trainings.by_kind}
    lines.append(JOB_POINTS.format(points=sum(d.points for d in trainings.cost_by_day), **by_kind))
    totals = datasets.totals
    lines.append(
        DATASETS.format(
            datasets=totals.datasets, images=totals.images, size=size(totals.bytes),
            uses=datasets.uses,
        )
    )  # fmt: skip
    if datasets.tag_frequency:
        shown = datasets.tag_frequency[:MAX_TAGS_SHOWN]
        lines.append(TOP_TAGS.format(tags=", ".join(f"{t.tag} ({t.count})" for t in shown)))
    return "\n".join(map(str, lines))


def change(step: CostChangeOut, before: int) -> str:
    """`before: 40, +25%`, or `before: 0` when there is no percentage."""
    if step.percent is None:
        return gettext("before: {before}").format(before=before)
    return gettext("before: {before}, {percent:+.0f}%").format(before=before, percent=step.percent)


def spending(costs: CostsOut) -> str:
    """The /spending text: this period's figures by type against the period before."""
    now, before, steps = costs.totals, costs.previous.totals, costs.change
    return "\n".join(
        [
            SPENDING_HEADER.format(start=costs.from_, end=costs.to, days=len(costs.daily)),
            SPENT.format(points=now.spent, change=change(steps.spent, before.spent)),
            BY_TYPE.format(**now.model_dump()),
            REFUNDS.format(refunds=now.refunds, change=change(steps.refunds, before.refunds)),
            BOUGHT.format(
                purchases=now.purchases, change=change(steps.purchases, before.purchases)
            ),
            EARNED.format(
                royalties_earned=now.royalties_earned,
                change=change(steps.royalties_earned, before.royalties_earned),
            ),
        ]
    )
