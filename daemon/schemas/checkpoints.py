"""A training's saved checkpoints: each step's LoRA files and sample."""

from typing import Any, Self

from pydantic import Field

from daemon.schemas.common import Answer


def checkpoint_file_url(job_id: int, step: int, name: str) -> str:
    """Where one file of a saved checkpoint is downloaded."""
    return f"/v1/jobs/{job_id}/checkpoints/{step}/files/{name}"


class CheckpointFileOut(Answer):
    name: str
    role: str = Field(description="lora_kohya, lora_diffusers or samples.")
    kind: str = Field(description="lora or image")
    size: int
    url: str


class CheckpointOut(Answer):
    step: int
    sample: str | None = Field(description="The name of its sample image among `files`.")
    files: list[CheckpointFileOut]

    @classmethod
    def of(cls, job_id: int, entry: dict[str, Any]) -> Self:
        """One entry of `job.checkpoints`, each file with its download URL."""
        step = int(entry["step"])
        return cls(
            step=step,
            sample=entry.get("sample"),
            files=[
                CheckpointFileOut(
                    name=f["name"],
                    role=f["role"],
                    kind=f["kind"],
                    size=f["size"],
                    url=checkpoint_file_url(job_id, step, f["name"]),
                )
                for f in entry["files"]
            ],
        )


class CheckpointsOut(Answer):
    job_id: int
    checkpoints: list[CheckpointOut] = Field(description="Oldest first.")
