"""The files of an attempt on Ray, on the daemon's side: the job file's inputs shipped to the
actor as object refs, and the worker's outputs written back at the daemon's own paths."""

import contextlib
import os
import shutil
from pathlib import Path
from typing import BinaryIO

import ray
from ray.exceptions import RayError

from core import worker_protocol as protocol
from daemon.executors.ray_actor import COMPLETE_MARKER, Chunk, Inputs


def write_job_file(job: protocol.JobFile) -> None:
    """The job file beside the outputs, as `LocalExecutor` leaves it."""
    attempt_dir = job.out_dir.parent
    attempt_dir.mkdir(parents=True, exist_ok=True)
    job.write(attempt_dir / f"attempt-{job.fencing_token}.json")


def put_inputs(job: protocol.JobFile) -> Inputs:
    """The job file's input files in the object store (OSError when one is unreadable or the
    store refuses it)."""
    try:
        return _inputs(job)
    except RayError as exc:
        raise OSError(f"could not ship the job's inputs: {exc}") from exc


def _inputs(job: protocol.JobFile) -> Inputs:
    return Inputs(
        images=[ray.put(image.path.read_bytes()) for image in job.images],
        inputs={role: ray.put(path.read_bytes()) for role, path in job.inputs.items()},
        checkpoints={
            str(path.relative_to(job.checkpoint_dir)): ray.put(path.read_bytes())
            for path in _resumable_files(job.checkpoint_dir)
        },
    )


def _resumable_files(checkpoint_dir: Path) -> list[Path]:
    """The files of the complete resumable checkpoints (the worker resumes the newest);
    the kept outputs of earlier steps stay here, they are in blob storage already."""
    if not checkpoint_dir.is_dir():
        return []
    folders = [p for p in checkpoint_dir.iterdir() if (p / COMPLETE_MARKER).is_file()]
    return [path for folder in folders for path in folder.rglob("*") if path.is_file()]


def receive(partial: dict[str, BinaryIO], chunk: Chunk) -> None:
    """Append a chunk to its file; the last one puts the file at its path in one rename."""
    handle = partial.get(chunk.path)
    if handle is None:
        final = Path(chunk.path)
        final.parent.mkdir(parents=True, exist_ok=True)
        handle = partial[chunk.path] = (final.parent / f".{final.name}.ray-part").open("wb")
    handle.write(chunk.data)
    if chunk.last:
        handle.close()
        del partial[chunk.path]
        os.replace(handle.name, chunk.path)


def discard(partial: dict[str, BinaryIO]) -> None:
    """Drop the files received only in part (the attempt ended before their last chunk)."""
    for handle in partial.values():
        with contextlib.suppress(OSError):
            handle.close()
            Path(handle.name).unlink()
    partial.clear()


def prune(folder: Path, keep: set[str]) -> None:
    """Remove the entries of `folder` not named in `keep` (hidden partial files stay)."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path.name in keep or path.name.startswith("."):
            continue
        with contextlib.suppress(OSError):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
