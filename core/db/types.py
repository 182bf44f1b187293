"""Column types and `Annotated` aliases shared by the models."""

from datetime import UTC, datetime
from typing import Annotated, Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Integer, String, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so add it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# BigInteger on PostgreSQL, INTEGER (rowid alias) on SQLite, so autoincrement works on both.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")

intpk = Annotated[int, mapped_column(BigIntPK, primary_key=True, autoincrement=True)]
created_at = Annotated[
    datetime,
    mapped_column(UTCDateTime(), default=utcnow, server_default=text("CURRENT_TIMESTAMP")),
]
str16 = Annotated[str, mapped_column(String(16))]
str32 = Annotated[str, mapped_column(String(32))]
str64 = Annotated[str, mapped_column(String(64))]
str200 = Annotated[str, mapped_column(String(200))]
json_dict = Annotated[dict[str, Any], mapped_column(JSON, default=dict)]
# Points and byte counts can pass 2**31.
bigint = Annotated[int, mapped_column(BigInteger)]
# The owner of a row; indexed, since most queries are "this account's rows".
account_ref = Annotated[int, mapped_column(ForeignKey("accounts.id"), index=True)]
