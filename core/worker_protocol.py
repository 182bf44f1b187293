"""The worker protocol: the job file the daemon writes and the messages the worker sends back.

Both sides import this module, and it loads neither torch nor the database. For each attempt
the daemon writes a `JobFile` (JSON) and starts `python -m <module> JOB_FILE`, the module of
the job's kind (`WORKER_MODULES`); the worker answers with one JSON object per line on its
stdout, tagged by `type`:

- `hello` {pid, job_id, fencing_token}: the process is up (or, warm, took the job);
- `heartbeat`: every `heartbeat_seconds`, whatever the worker is doing;
- `progress` {stage, step, total_steps, loss, lr, steps_per_second, eta_seconds, message};
- `checkpoint` {step, path, files, sample}: a training wrote a resumable checkpoint, the LoRA
  files of that step and a sample rendered with them;
- `result` {files: {name: path}, final_loss, steps, seconds, stats};
- `cancelled` {step} or `error` {message, error_type}: the attempt is over.

A cold worker exits after its attempt. A warm worker (`WARM_KINDS`, started as
`python -m <module> --serve IDLE_SECONDS`) keeps its model loaded: it takes one job file per
line `run JOB_FILE` on its stdin, answers each like a cold worker does, and exits once it has
had no job for IDLE_SECONDS. The daemon writes the line `cancel` on the worker's stdin to ask
it to stop the current attempt at the next step.
Anything else — an unknown `type`, a missing, extra or mistyped field, a line that is not
JSON — raises `ProtocolError`: both ends come from one checkout, so it is a bug, not a
version to tolerate.
"""

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from core.enums import JobKind

CANCEL_COMMAND = "cancel"
RUN_COMMAND = "run"
SERVE_FLAG = "--serve"

# The worker module of each kind: torch, diffusers and transformers load only there.
WORKER_MODULES: dict[JobKind, str] = {
    JobKind.train: "core.training.worker",
    JobKind.caption: "core.captioning.worker",
    JobKind.generate: "core.generation.worker",
}
# Kinds whose workers stay up between jobs with their pipeline loaded (see the module doc).
WARM_KINDS = frozenset({JobKind.generate})


class ProtocolError(ValueError):
    """A job file or a worker message that does not follow the protocol."""


class _Record(BaseModel):
    # Strict: "3" is not 3 and nothing unknown slips through (a float field still takes 3).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class TrainingFile(_Record):
    """One image of the job (trained on, or to caption): a stored file and its caption."""

    path: Path
    caption: str


class JobFile(_Record):
    """One attempt as the daemon hands it to a worker."""

    job_id: int
    fencing_token: int
    kind: JobKind = JobKind.train
    spec: dict[str, Any]
    """The kind's spec as a dict (e.g. `TrainingSpec.from_dict` checks it in the worker)."""
    images: list[TrainingFile]
    inputs: dict[str, Path] = Field(default_factory=dict)
    """Other input files by role, e.g. `lora` for a generation."""
    warm_key: str | None = None
    """For a warm kind: what the worker keeps loaded (the base model); a warm worker that
    holds the same key takes the job without loading anything."""
    out_dir: Path
    checkpoint_dir: Path
    data_dir: Path
    heartbeat_seconds: float = 5.0

    def write(self, path: Path) -> None:
        """Write the job file (UTF-8 JSON)."""
        Path(path).write_text(self.model_dump_json(), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> "JobFile":
        """Read and check a job file (ProtocolError when it is malformed)."""
        data = Path(path).read_bytes()
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            raise ProtocolError(f"malformed job file {path}: {_summary(exc)}") from None


class Hello(_Record):
    type: Literal["hello"] = "hello"
    pid: int
    job_id: int
    fencing_token: int


class Heartbeat(_Record):
    type: Literal["heartbeat"] = "heartbeat"


class Progress(_Record):
    """One progress report: what the trainer hands its `on_progress` callback, and its line."""

    type: Literal["progress"] = "progress"
    stage: Literal["preparing", "training", "finishing"]
    """`preparing` (loading, caching), `training` (the loop) or `finishing` (saving, sampling)."""
    step: int = 0
    """Optimizer steps completed so far."""
    total_steps: int = 0
    """Optimizer steps the training will run in all."""
    loss: float | None = None
    """Smoothed training loss (exponential moving average) at `step`."""
    lr: float | None = None
    """Learning rate used for the last step."""
    steps_per_second: float | None = None
    """Throughput of this process since the loop started."""
    eta_seconds: float | None = None
    """Estimated seconds until the loop finishes."""
    message: str = ""
    """A short human-readable note about what is happening."""


class Checkpoint(_Record):
    type: Literal["checkpoint"] = "checkpoint"
    step: int
    path: str
    files: dict[str, str] = Field(default_factory=dict)
    """The LoRA files of this step by role (`lora_diffusers`, `lora_kohya`), outside `path`."""
    sample: str | None = None
    """A sample image rendered with this step's LoRA and the trigger word."""


class Result(_Record):
    """The attempt finished; `files` maps output roles to the paths written."""

    type: Literal["result"] = "result"
    files: dict[str, str]
    final_loss: float | None
    steps: int
    seconds: float
    stats: dict[str, Any] = Field(default_factory=dict)


class Cancelled(_Record):
    type: Literal["cancelled"] = "cancelled"
    step: int


class Error(_Record):
    """The attempt failed; whether to retry is the daemon's decision."""

    type: Literal["error"] = "error"
    message: str
    error_type: str


Message = Hello | Heartbeat | Progress | Checkpoint | Result | Cancelled | Error
_MESSAGE: TypeAdapter[Message] = TypeAdapter(
    Annotated[Message, Field(discriminator="type")]  # type: ignore[arg-type]
)


def encode(message: Message) -> str:
    """One message as a JSON line, without the line break."""
    return _MESSAGE.dump_json(message).decode()


def decode(line: str | bytes) -> Message:
    """The message of one line (ProtocolError when it is not a known, well-formed message)."""
    try:
        return _MESSAGE.validate_json(line)
    except ValidationError as exc:
        raise ProtocolError(f"malformed worker message: {_summary(exc)}") from None


def _summary(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'message'}: {error['msg']}"
        for error in exc.errors(include_url=False)
    )
