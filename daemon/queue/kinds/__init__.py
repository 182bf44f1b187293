"""What differs between job kinds on the daemon's side: a worker's inputs and its result.

The dispatcher asks a job's handler what the worker needs when an attempt starts
(`prepare`), hands it each `checkpoint` the worker reports on the way (`store_checkpoint`,
then `record_checkpoint`; only kinds that save checkpoints override them) and the worker's
`result` at the end (`store`, then `complete`); everything else — claiming, leases,
fencing, retries, refunds, the notifications of failure and cancel — is the one lifecycle of
`core.lifecycle`, the same for every kind.
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
    async def prepare(
        self, session: AsyncSession, blobs: BlobStore, job: Job, inputs_dir: Path
    ) -> Prepared:
        """What the worker gets, its input files local (downloaded into `inputs_dir` from a
        remote store); a `DomainError` fails the job at once (it cannot run)."""

    @abc.abstractmethod
    async def store(self, blobs: BlobStore, attempt: Attempt, result: protocol.Result) -> Any:
        """Copy the worker's outputs (local files in the job's folder) into blob storage.

        OSError or ValueError (a reported file missing, a bad name) fails the attempt.
        """

    @abc.abstractmethod
    async def complete(
        self, session: AsyncSession, job: Job, result: protocol.Result, stored: Any
    ) -> None:
        """Record what the attempt produced and end the job (`core.lifecycle.mark_completed`)."""

    async def store_checkpoint(
        self, blobs: BlobStore, attempt: Attempt, checkpoint: protocol.Checkpoint
    ) -> Any:
        """Copy a checkpoint's files into blob storage.

        OSError or ValueError drops the checkpoint (the attempt goes on); a kind that saves
        none refuses one it is sent.
        """
        raise ValueError(f"{type(self).__name__} jobs save no checkpoints")

    async def record_checkpoint(
        self, session: AsyncSession, job: Job, checkpoint: protocol.Checkpoint, stored: Any
    ) -> None:
        """Record a stored checkpoint on its job (the attempt still holds it); after
        `store_checkpoint`, so only kinds that override that one are asked."""
        raise NotImplementedError
