"""The worker protocol: what is written is read back the same; anything else is refused loudly."""

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from core import worker_protocol as protocol
from core.lifecycle import Attempt
from daemon.executors.base import Exited, WorkerEvent
from daemon.executors.local import LocalExecutor, _Run, _Worker

REPO_ROOT = Path(__file__).resolve().parents[2]

MESSAGES: list[protocol.Message] = [
    protocol.Hello(pid=12, job_id=3, fencing_token=2),
    protocol.Heartbeat(),
    protocol.Progress(stage="training", step=4, total_steps=20, loss=0.25, lr=1e-3),
    protocol.Checkpoint(step=4, path="/data/jobs/3/checkpoints/step-00000004"),
    protocol.Result(
        files={"lora_diffusers": "/out/a.safetensors"},
        final_loss=0.2,
        steps=20,
        seconds=3.5,
        stats={"resumed_from_step": 0},
    ),
    protocol.Cancelled(step=7),
    protocol.Error(message="RuntimeError: boom", error_type="RuntimeError"),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: m.type)
def test_every_message_reads_back_as_written(message: protocol.Message) -> None:
    line = protocol.encode(message)
    assert "\n" not in line
    assert protocol.decode(line) == message
    assert protocol.decode(line.encode()) == message


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ('{"type": "shout", "text": "hi"}', "does not match any of the expected tags"),
        ('{"pid": 1}', "Unable to extract tag"),
        ('{"type": "cancelled", "step": "7"}', "cancelled.step"),
        ('{"type": "cancelled", "step": 7, "why": "x"}', "cancelled.why"),
        ('{"type": "progress", "stage": "dreaming"}', "progress.stage"),
        ('{"type": "error", "message": "no error_type"}', "error.error_type"),
        ("step 3", "Invalid JSON"),
    ],
)
def test_anything_else_is_a_protocol_error(line: str, complaint: str) -> None:
    with pytest.raises(protocol.ProtocolError, match="malformed worker message") as refused:
        protocol.decode(line)
    assert complaint in str(refused.value)


def test_the_job_file_reads_back_as_written(tmp_path: Path) -> None:
    job = protocol.JobFile(
        job_id=9,
        fencing_token=3,
        spec={"steps": 20, "trigger_word": "zqx"},
        images=[protocol.TrainingFile(path=tmp_path / "a.png", caption="a red circle")],
        out_dir=tmp_path / "out-3",
        checkpoint_dir=tmp_path / "checkpoints",
        data_dir=tmp_path,
        heartbeat_seconds=0.5,
    )
    path = tmp_path / "attempt-3.json"
    job.write(path)
    assert protocol.JobFile.read(path) == job
    path.write_text('{"job_id": 9}', encoding="utf-8")
    with pytest.raises(protocol.ProtocolError, match="fencing_token"):
        protocol.JobFile.read(path)


def test_a_worker_given_a_bad_job_file_says_so_in_the_protocol(tmp_path: Path) -> None:
    bad = tmp_path / "attempt-1.json"
    bad.write_text('{"job_id": "nine"}', encoding="utf-8")
    # stdin stays open: EOF there means "the daemon is gone" and the worker would quit at once.
    worker = subprocess.Popen(
        [sys.executable, "-m", "core.training.worker", str(bad)],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert worker.stdout is not None
        line = worker.stdout.readline()
        assert worker.wait(60) == 1
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.communicate()
    message = protocol.decode(line.strip())
    assert isinstance(message, protocol.Error) and message.error_type == "JobFileError"
    assert "job_id" in message.message


async def test_a_worker_that_breaks_the_protocol_is_stopped_and_its_attempt_fails(
    tmp_path: Path,
) -> None:
    """The executor turns a line it cannot read into an `error` and kills the process."""
    script = 'import time; print(\'{"type": "shout"}\', flush=True); time.sleep(60)'
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE
    )
    executor = LocalExecutor(1, gpus=[])
    attempt = Attempt(5, 1)
    log_path = tmp_path / "attempt-1.log"
    log_path.write_text("", encoding="utf-8")
    await asyncio.wait_for(executor._read(_Worker(0, process, log_path, run=_Run(attempt))), 20)
    events: list[WorkerEvent] = []
    while not executor.events.empty():
        events.append(executor.events.get_nowait())
    assert [event.attempt for event in events] == [attempt, attempt]
    failure, exited = (event.message for event in events)
    assert isinstance(failure, protocol.Error) and failure.error_type == "ProtocolError"
    assert "shout" in failure.message
    assert exited == Exited(returncode=-9, stderr_tail="")
