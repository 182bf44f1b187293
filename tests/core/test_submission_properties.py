"""Property: any sequence of job submissions and cancels keeps the money rules of jobs.

- a repeated idempotency key with the same request gives the first job and debits once;
  with another request it is a conflict that changes nothing;
- a refused submission (not enough points, an unknown preset, overrides out of bounds)
  changes nothing: no job, no ledger entry, the same balance;
- every job's cost is non-negative and is exactly what its submission debited;
- cancelling a queued job refunds its cost once; cancelling it again refunds nothing;
- the balance always equals the sum of the entries and is never negative.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db.models import Job, LedgerEntry
from core.economy import MarketRules
from core.enums import JobStatus, LedgerKind
from core.errors import Conflict, InsufficientPoints, PreflightRefused
from core.jobs import JobRequest, cancel_job, submit_job
from core.ledger import balance, ledger_sum
from core.offerings import OfferingRegistry
from core.settings import BUNDLED_OFFERINGS
from tests.conftest import make_account, make_dataset
from tests.core.db_examples import DB_EXAMPLES

Maker = async_sessionmaker[AsyncSession]
REGISTRY = OfferingRegistry.load(BUNDLED_OFFERINGS)

# Within tiny-lora's bounds or beyond them (steps 1..2000, rank 1..32).
OVERRIDES = st.fixed_dictionaries(
    {},
    optional={
        "steps": st.sampled_from([1, 40, 2000, 2001, 10**6]),
        "rank": st.sampled_from([1, 8, 32, 33]),
    },
)


@dataclass(frozen=True)
class Submit:
    key: str
    preset: str
    overrides: dict[str, Any]


@dataclass(frozen=True)
class Cancel:
    pick: int  # which of the jobs made so far (modulo their number)


OPS = st.lists(
    st.one_of(
        st.builds(
            Submit,
            st.sampled_from(["a", "b", "c", "d"]),
            st.sampled_from(["fast", "balanced", "quality", "no-such-preset"]),
            OVERRIDES,
        ),
        st.builds(Cancel, st.integers(0, 10)),
    ),
    min_size=1,
    max_size=15,
)


@dataclass(frozen=True)
class Snapshot:
    balance: int
    entries: int
    jobs: int


async def _snapshot(db: Maker, account_id: int) -> Snapshot:
    async with db() as session:
        current = await balance(session, account_id)
        assert await ledger_sum(session, account_id) == current >= 0
        entries = await session.scalar(
            select(func.count()).where(LedgerEntry.account_id == account_id)
        )
        jobs = await session.scalar(select(func.count()).where(Job.account_id == account_id))
    return Snapshot(current, int(entries or 0), int(jobs or 0))


@dataclass
class Run:
    """One account's run: the jobs made so far and what each key was first used for."""

    db: Maker
    account_id: int
    dataset_id: int
    data_dir: Path
    jobs: list[int] = field(default_factory=list)
    first: dict[str, tuple[Submit, int]] = field(default_factory=dict)
    refunds: dict[int, int] = field(default_factory=dict)

    async def submit(self, op: Submit) -> None:
        before = await _snapshot(self.db, self.account_id)
        request = JobRequest(self.dataset_id, "tiny-lora", op.preset, op.key, dict(op.overrides))
        try:
            async with self.db.begin() as session:
                job, created = await submit_job(
                    session,
                    REGISTRY,
                    MarketRules(),
                    account_id=self.account_id,
                    platform="telegram",
                    platform_user_id="1",
                    request=request,
                    data_dir=self.data_dir,
                )
                job_id, cost = job.id, job.cost
        except (InsufficientPoints, PreflightRefused, Conflict) as exc:
            if isinstance(exc, Conflict):
                first, _ = self.first[op.key]
                assert (first.preset, first.overrides) != (op.preset, op.overrides)
            else:
                assert op.key not in self.first
            assert await _snapshot(self.db, self.account_id) == before, exc
            return
        after = await _snapshot(self.db, self.account_id)
        if op.key in self.first:
            first, first_job = self.first[op.key]
            assert not created and job_id == first_job
            assert (first.preset, first.overrides) == (op.preset, op.overrides)
            assert after == before
            return
        assert created and cost >= 0
        self.first[op.key] = (op, job_id)
        self.jobs.append(job_id)
        debited = 1 if cost > 0 else 0
        assert after == Snapshot(before.balance - cost, before.entries + debited, before.jobs + 1)

    async def cancel(self, op: Cancel) -> None:
        if not self.jobs:
            return
        job_id = self.jobs[op.pick % len(self.jobs)]
        before = await _snapshot(self.db, self.account_id)
        try:
            async with self.db.begin() as session:
                result = await cancel_job(session, job_id, self.account_id)
                refunded, cost = result.refunded, result.job.cost
        except Conflict as exc:
            assert exc.code == "JOB_FINISHED" and job_id in self.refunds
            assert await _snapshot(self.db, self.account_id) == before
            return
        assert job_id not in self.refunds and refunded == cost
        self.refunds[job_id] = refunded
        after = await _snapshot(self.db, self.account_id)
        assert after == Snapshot(
            before.balance + refunded, before.entries + (cost > 0), before.jobs
        )

    async def check_totals(self) -> None:
        async with self.db() as session:
            jobs = list(
                await session.scalars(select(Job).where(Job.account_id == self.account_id))
            )
            for job in jobs:
                debit_key, refund_key = f"job:{job.idempotency_key}", f"refund:job:{job.id}"
                debits = await _sum(session, job.account_id, debit_key, LedgerKind.training_debit)
                refunds = await _sum(session, job.account_id, refund_key, LedgerKind.refund)
                assert debits == -job.cost and 0 <= refunds <= job.cost
                cancelled = job.status == JobStatus.cancelled
                assert refunds == (job.cost if cancelled else 0) == job.refunded


async def _sum(session: AsyncSession, account_id: int, key: str, kind: LedgerKind) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.delta), 0)).where(
            LedgerEntry.account_id == account_id,
            LedgerEntry.idempotency_key == key,
            LedgerEntry.kind == str(kind),
        )
    )
    return int(total or 0)


@settings(DB_EXAMPLES, max_examples=30)
@given(start=st.integers(0, 40), ops=OPS)
async def test_any_sequence_keeps_the_job_money_rules(
    db: Maker, tmp_path: Path, start: int, ops: list[Submit | Cancel]
) -> None:
    async with db.begin() as session:
        account = await make_account(session, balance=start)
        dataset = await make_dataset(session, account.id, images=4)
    run = Run(db, account.id, dataset.id, tmp_path)
    for op in ops:
        await (run.submit(op) if isinstance(op, Submit) else run.cancel(op))
    await run.check_totals()
