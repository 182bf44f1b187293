"""Ranges of whole UTC days, as the analytics and cost routes take them (`from` / `to`)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from core.db.types import utcnow
from core.errors import InvalidInput

MAX_DAYS = 366  # a leap year: the longest range one answer covers
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class DateRange:
    """The UTC days `start` to `end`, both included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def dates(self) -> list[date]:
        """Every day of the range, in order."""
        return [self.start + timedelta(days=offset) for offset in range(self.days)]

    def previous(self) -> "DateRange":
        """The range of the same length that ends the day before this one starts."""
        end = self.start - timedelta(days=1)
        return DateRange(end - timedelta(days=self.days - 1), end)

    def bounds(self) -> tuple[datetime, datetime]:
        """`[start 00:00 UTC, the day after end 00:00 UTC)`, for `created_at` filters."""
        after = self.end + timedelta(days=1)
        return _midnight(self.start), _midnight(after)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def today() -> date:
    """Today's UTC date."""
    return utcnow().date()


def day_of(moment: datetime) -> date:
    """The UTC day of an aware datetime."""
    return moment.astimezone(UTC).date()


def rolling(days: int, *, ending: date) -> DateRange:
    """The `days` days that end with `ending`."""
    return DateRange(ending - timedelta(days=days - 1), ending)


def date_range(start: date | None, end: date | None, *, ending: date) -> DateRange:
    """The asked range: the last 30 days ending `ending` by default, or from `start` to
    `end` (a missing `end` is `ending`; a missing `start` is 30 days before `end`).

    `start` after `end`, or more than 366 days, is InvalidInput.
    """
    end = end or ending
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    return checked(start, end)


def checked(start: date, end: date) -> DateRange:
    """The range `start`..`end`, or InvalidInput naming what is wrong with it."""
    if start > end:
        raise InvalidInput(
            f"from ({start.isoformat()}) is after to ({end.isoformat()})",
            **{"from": start.isoformat(), "to": end.isoformat()},
        )
    window = DateRange(start, end)
    if window.days > MAX_DAYS:
        raise InvalidInput(
            f"the range from {start.isoformat()} to {end.isoformat()} covers {window.days} "
            f"days; at most {MAX_DAYS} are allowed",
            days=window.days,
            max_days=MAX_DAYS,
        )
    return window
