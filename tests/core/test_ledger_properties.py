"""Property: any sequence of grants, debits and refunds, with idempotency keys repeated at
random, keeps the ledger's rules on a real SQLite file.

- the balance always equals the sum of the account's entries, and is never negative;
- a repeated key with the same request has the effect of one; with another request it is
  refused as a conflict and changes nothing;
- a debit the balance cannot cover is refused, changes nothing and leaves its key unused.
"""

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.enums import LedgerKind
from core.errors import Conflict, InsufficientPoints
from core.ledger import balance, ledger_sum, list_entries, post_entry
from tests.conftest import make_account
from tests.core.db_examples import DB_EXAMPLES

Maker = async_sessionmaker[AsyncSession]

# A handful of keys, so that repeats (same or different request) come up often.
KEYS = st.sampled_from([f"k{i}" for i in range(6)])
KIND_SIGN = {LedgerKind.grant: 1, LedgerKind.training_debit: -1, LedgerKind.refund: 1}


@dataclass(frozen=True)
class Op:
    kind: LedgerKind
    points: int
    key: str

    @property
    def delta(self) -> int:
        return KIND_SIGN[self.kind] * self.points


OPS = st.lists(
    st.builds(Op, st.sampled_from(list(KIND_SIGN)), st.integers(1, 500), KEYS),
    min_size=1,
    max_size=25,
)


@dataclass
class Expected:
    """What the ledger should hold: the model the real one is compared with."""

    balance: int = 0
    by_key: dict[str, Op] = field(default_factory=dict)

    def outcome(self, op: Op) -> str:
        first = self.by_key.get(op.key)
        if first is not None:
            return "repeat" if (first.kind, first.delta) == (op.kind, op.delta) else "conflict"
        if self.balance + op.delta < 0:
            return "short"
        self.by_key[op.key] = op
        self.balance += op.delta
        return "created"


async def _apply(db: Maker, account_id: int, op: Op) -> str:
    try:
        async with db.begin() as session:
            _, created = await post_entry(
                session,
                account_id=account_id,
                delta=op.delta,
                kind=op.kind,
                idempotency_key=op.key,
            )
    except InsufficientPoints:
        return "short"
    except Conflict as exc:
        assert exc.code == "IDEMPOTENCY_CONFLICT"
        return "conflict"
    return "created" if created else "repeat"


@settings(DB_EXAMPLES, max_examples=40)
@given(ops=OPS)
async def test_any_sequence_keeps_the_ledger_rules(db: Maker, ops: list[Op]) -> None:
    async with db.begin() as session:
        account_id = (await make_account(session)).id
    expected = Expected()
    for op in ops:
        assert await _apply(db, account_id, op) == expected.outcome(op), op
        async with db() as session:
            current = await balance(session, account_id)
            assert current == expected.balance >= 0
            assert await ledger_sum(session, account_id) == current
    async with db() as session:
        entries = await list_entries(session, account_id, limit=100)
    # One entry per key that took effect, each with the running balance it left behind.
    assert sorted(e.idempotency_key for e in entries) == sorted(expected.by_key)
    assert [e.delta for e in reversed(entries)] == [op.delta for op in expected.by_key.values()]
    running = 0
    for entry in reversed(entries):
        running += entry.delta
        assert entry.balance_after == running >= 0
