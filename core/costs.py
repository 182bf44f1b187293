"""The cost dashboard: what a person spent, bought and earned, per day and against the window
right before, all from the ledger.

Each figure is a non-negative point amount: the debits of each job kind; `refunds` given back;
`purchases` bought net of purchase refunds; `royalties_earned` net of royalty reversals; and
`spent` = debits − refunds. The net ones are floored at 0 for a day (or a window) whose
take-backs exceed what it added — a refund of an earlier day's debit, say — so a window's
figure is its own net, not the sum of its floored days.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, fields
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.date_ranges import DateRange, checked, day_of, rolling
from core.db.models import LedgerEntry
from core.enums import CostPeriod, JobKind, LedgerKind
from core.errors import InvalidInput

PERIOD_DAYS = {CostPeriod.week: 7, CostPeriod.month: 30, CostPeriod.year: 365}
COUNTED = (
    *(kind.debit for kind in JobKind),
    LedgerKind.refund,
    LedgerKind.purchase,
    LedgerKind.purchase_refund,
    LedgerKind.royalty,
    LedgerKind.royalty_reversal,
)


@dataclass(frozen=True)
class CostTotals:
    """Points by type over a day or a window (see the module)."""

    training: int = 0
    captioning: int = 0
    generation: int = 0
    purchases: int = 0
    royalties_earned: int = 0
    refunds: int = 0
    spent: int = 0

    @classmethod
    def of(cls, net: Counter[str]) -> "CostTotals":
        """From the net delta of each ledger kind (debits are negative deltas)."""
        debits = {kind: max(-net[kind.debit], 0) for kind in JobKind}
        refunds = max(net[LedgerKind.refund], 0)
        return cls(
            training=debits[JobKind.train],
            captioning=debits[JobKind.caption],
            generation=debits[JobKind.generate],
            purchases=max(net[LedgerKind.purchase] + net[LedgerKind.purchase_refund], 0),
            royalties_earned=max(net[LedgerKind.royalty] + net[LedgerKind.royalty_reversal], 0),
            refunds=refunds,
            spent=max(sum(debits.values()) - refunds, 0),
        )

    def as_dict(self) -> dict[str, int]:
        """Each figure by its name, in order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class CostChange:
    """A figure against the previous window: the difference, and it in percent of before."""

    points: int
    percent: float | None  # None when the previous window had 0


@dataclass(frozen=True)
class CostWindow:
    window: DateRange
    totals: CostTotals
    daily: list[tuple[date, CostTotals]]  # every day of the window, in order


@dataclass(frozen=True)
class CostReport:
    period: CostPeriod
    current: CostWindow
    previous: CostWindow  # the same number of days, right before
    change: dict[str, CostChange]


def cost_window(
    period: CostPeriod, start: date | None, end: date | None, *, ending: date
) -> DateRange:
    """The days a period covers: the last 7 / 30 / 365 ending `ending`, or `start`..`end`."""
    if period is CostPeriod.custom:
        if start is None or end is None:
            raise InvalidInput("period=custom needs both from and to (YYYY-MM-DD)")
        return checked(start, end)
    if start is not None or end is not None:
        raise InvalidInput(
            f"from and to are only for period=custom; period={period} is the last "
            f"{PERIOD_DAYS[period]} days ending today"
        )
    return rolling(PERIOD_DAYS[period], ending=ending)


async def cost_report(
    session: AsyncSession, account_id: int, period: CostPeriod, window: DateRange
) -> CostReport:
    """The account's costs in `window` and in the window of equal length before it."""
    previous = window.previous()
    start, _ = previous.bounds()
    _, end = window.bounds()
    rows = await session.execute(
        select(LedgerEntry.created_at, LedgerEntry.kind, LedgerEntry.delta).where(
            LedgerEntry.account_id == account_id,
            LedgerEntry.kind.in_([str(kind) for kind in COUNTED]),
            LedgerEntry.created_at >= start,
            LedgerEntry.created_at < end,
        )
    )
    by_day: dict[date, Counter[str]] = defaultdict(Counter)
    for created, kind, delta in rows:
        by_day[day_of(created)][kind] += int(delta)
    current, before = _window(window, by_day), _window(previous, by_day)
    return CostReport(period, current, before, _change(current.totals, before.totals))


def _window(window: DateRange, by_day: dict[date, Counter[str]]) -> CostWindow:
    days = window.dates()
    net: Counter[str] = Counter()
    for day in days:
        net.update(by_day.get(day, Counter()))
    daily = [(day, CostTotals.of(by_day.get(day, Counter()))) for day in days]
    return CostWindow(window, CostTotals.of(net), daily)


def _change(now: CostTotals, before: CostTotals) -> dict[str, CostChange]:
    earlier = before.as_dict()
    return {
        name: CostChange(
            points=value - earlier[name],
            percent=(
                round((value - earlier[name]) * 100 / earlier[name], 1) if earlier[name] else None
            ),
        )
        for name, value in now.as_dict().items()
    }
