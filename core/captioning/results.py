"""`captions.json`, a caption worker's output: its writer (the worker) and reader (the daemon).

One entry per image of the job file, in its order: `{"captions": [{"path", "caption"}]}`.
The file is written to a temporary name and renamed, so a reader never sees half of it.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

CAPTIONS_FILE = "captions.json"


class CaptionEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    path: str
    caption: str = Field(min_length=1)


class CaptionsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    captions: list[CaptionEntry]


def write_captions(out_dir: Path, paths: list[Path], captions: list[str]) -> Path:
    """Write the captions of `paths` (same order) atomically; the file's path."""
    if len(paths) != len(captions):
        raise ValueError(f"{len(captions)} captions for {len(paths)} images")
    out_dir.mkdir(parents=True, exist_ok=True)
    body = CaptionsFile(
        captions=[
            CaptionEntry(path=str(path), caption=caption)
            for path, caption in zip(paths, captions, strict=True)
        ]
    )
    target = out_dir / CAPTIONS_FILE
    tmp = out_dir / f".{CAPTIONS_FILE}.tmp-{os.getpid()}"
    tmp.write_text(body.model_dump_json(indent=1), encoding="utf-8")
    os.replace(tmp, target)
    return target


def read_captions(path: Path) -> list[str]:
    """The captions of a worker's file, in image order (OSError when it is missing,
    ValueError when it is malformed)."""
    parsed = CaptionsFile.model_validate_json(path.read_bytes())
    return [entry.caption for entry in parsed.captions]
