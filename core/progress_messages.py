"""The chat message each bot keeps editing with a job's progress, so that a restarted bot (or
another replica) finds the messages of unfinished jobs and goes on editing them."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import Identity, Job, ProgressMessage
from core.enums import FINAL_STATUSES, Platform
from core.jobs import get_job

# More unfinished jobs than a bot could follow at once; the oldest are resumed first.
MAX_RESUMED = 500


@dataclass(frozen=True)
class ProgressRecord:
    """A progress message of an unfinished job, with the owner to poll the job as."""

    job_id: int
    platform: str
    chat_id: str
    message_id: str
    platform_user_id: str


async def record(
    session: AsyncSession,
    account_id: int,
    job_id: int,
    platform: Platform,
    chat_id: str,
    message_id: str,
) -> ProgressMessage:
    """Remember (or replace) the platform's progress message of one of the account's jobs."""
    await get_job(session, job_id, account_id)  # another's job answers as a missing one
    row = await session.get(ProgressMessage, (job_id, str(platform)))
    if row is None:
        row = ProgressMessage(job_id=job_id, platform=str(platform))
        session.add(row)
    row.chat_id, row.message_id = chat_id, message_id
    await session.flush()
    return row


async def unfinished(session: AsyncSession, platform: Platform) -> list[ProgressRecord]:
    """The platform's progress messages of jobs not yet final, oldest job first."""
    final = [str(s) for s in FINAL_STATUSES]
    rows = (
        await session.execute(
            select(ProgressMessage, Job)
            .join(Job, Job.id == ProgressMessage.job_id)
            .where(ProgressMessage.platform == str(platform), Job.status.not_in(final))
            .order_by(Job.id)
            .limit(MAX_RESUMED)
        )
    ).all()
    owners = await _owners(session, platform, {job.account_id for _, job in rows})
    found = []
    for message, job in rows:
        # The identity the job was submitted from, else the account's one on this platform.
        user_id = job.platform_user_id if job.platform == str(platform) else None
        user_id = user_id or owners.get(job.account_id)
        if user_id is not None:
            found.append(
                ProgressRecord(
                    job.id, message.platform, message.chat_id, message.message_id, user_id
                )
            )
    return found


async def _owners(
    session: AsyncSession, platform: Platform, account_ids: set[int]
) -> dict[int, str]:
    """Each account's first identity on the platform."""
    if not account_ids:
        return {}
    identities = await session.scalars(
        select(Identity)
        .where(Identity.account_id.in_(account_ids), Identity.platform == str(platform))
        .order_by(Identity.id.desc())
    )
    # Ordered newest first, so the oldest identity is written last and kept.
    return {identity.account_id: identity.platform_user_id for identity in identities}
