"""The caption worker as the daemon runs it: a process, a job file in, protocol lines out."""

import subprocess
import sys
from pathlib import Path

import pytest

from core import worker_protocol as protocol
from core.captioning.results import read_captions
from core.captioning.spec import CaptionSpec
from core.enums import JobKind
from tests.conftest import REPO
from tests.imagefactory import png_bytes
from tests.queue.conftest import link_base_models

pytestmark = pytest.mark.slow


def job_file(tmp_path: Path, shared_captioner: Path, images: int) -> Path:
    data_dir = tmp_path / "data"
    link_base_models(data_dir, shared_captioner)
    files = []
    for seed in range(images):
        path = tmp_path / f"{seed}.png"
        path.write_bytes(png_bytes(seed=seed))
        files.append(protocol.TrainingFile(path=path, caption=""))
    spec = CaptionSpec(captioner="builtin:tiny-blip", style="tags", trigger_word="zqx")
    job = protocol.JobFile(
        job_id=7,
        fencing_token=2,
        kind=JobKind.caption,
        spec=spec.to_dict(),
        images=files,
        out_dir=tmp_path / "out-2",
        checkpoint_dir=tmp_path / "checkpoints",
        data_dir=data_dir,
        heartbeat_seconds=0.5,
    )
    path = tmp_path / "attempt-2.json"
    job.write(path)
    return path


def run_worker(path: Path, stdin: str = "") -> tuple[int, list[protocol.Message]]:
    """Run the worker to its end; its exit code and messages (stdin stays open meanwhile)."""
    worker = subprocess.Popen(
        [sys.executable, "-m", protocol.WORKER_MODULES[JobKind.caption], str(path)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert worker.stdin is not None and worker.stdout is not None
    try:
        worker.stdin.write(stdin)
        worker.stdin.flush()
        messages = [protocol.decode(line) for line in iter(worker.stdout.readline, "")]
        return worker.wait(60), messages
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.communicate()


def test_the_worker_reports_each_image_and_writes_the_captions(
    tmp_path: Path, shared_captioner: Path
) -> None:
    code, messages = run_worker(job_file(tmp_path, shared_captioner, images=3))
    assert code == 0
    hello = messages[0]
    assert isinstance(hello, protocol.Hello) and (hello.job_id, hello.fencing_token) == (7, 2)
    progress = [m for m in messages if isinstance(m, protocol.Progress)]
    stages = [(p.stage, p.step, p.total_steps) for p in progress]
    assert stages == [
        ("preparing", 0, 3),
        ("training", 1, 3),
        ("training", 2, 3),
        ("training", 3, 3),
        ("finishing", 3, 3),
    ]
    (result,) = [m for m in messages if isinstance(m, protocol.Result)]
    assert result.steps == 3
    assert result.stats["images"] == 3 and result.stats["device"] == "cpu"
    captions = read_captions(Path(result.files["captions"]))
    assert len(captions) == 3 and all(c.startswith("zqx, ") for c in captions)


def test_a_cancel_stops_the_worker_before_the_next_image(
    tmp_path: Path, shared_captioner: Path
) -> None:
    # Sent at once: the worker is still loading, and stops before its first image.
    code, messages = run_worker(job_file(tmp_path, shared_captioner, images=3), stdin="cancel\n")
    assert code == 0
    ends = [m for m in messages if isinstance(m, protocol.Result | protocol.Cancelled)]
    assert ends == [protocol.Cancelled(step=0)]
    assert not (tmp_path / "out-2").exists()
