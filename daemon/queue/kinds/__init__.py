"""What differs between job kinds on the daemon's side: a worker's inputs and its result.

The dispatcher asks a job's handler what the worker needs when an attempt starts
(`prepare`), and hands it the worker's `result` at the end (`store`, then `complete`);
everything else — claiming, leases, fencing, retries, refunds, the notifications of failure
and cancel — is the one lifecycle of `core.lifecycle`, the same for every kind.
"""

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core import worker_protocol as protocol
from core.blobs import BlobStore
from core.db.models import Job
from core.lifecycle import Attempt


@dataclass
class Prepared:
    """The kind's part of a job file."""

    spec: dict[str, Any]
    images: list[protocol.TrainingFile] = field(default_factory=list)
    inputs: dict[str, Path] = field(default_factory=dict)
    warm_key: str | None = None


class KindHandler(abc.ABC):
    """The daemon's side of one job kind."""

    @abc.abstractmethod
    async def prepare(self, session: AsyncSession, blobs: BlobStore, job: Job) -> Prepared:
        """What the worker gets; a `DomainError` fails the job at once (it cannot run)."""

    @abc.abstractmethod
    def store(self, blobs: BlobStore, attempt: Attempt, result: protocol.Result) -> Any:
        """Copy the worker's outputs into blob storage (blocking: runs in a thread).

        OSError or ValueError (a reported file missing, a bad name) fails the attempt.
        """

    @abc.abstractmethod
    async def complete(
        self, session: AsyncSession, job: Job, result: protocol.Result, stored: Any
    ) -> None:
        """Record what the attempt produced and end the job (`core.lifecycle.mark_completed`)."""
