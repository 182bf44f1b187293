"""A training killed with SIGKILL after a checkpoint resumes in a new process, exactly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from core.training.data import TrainingImage

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
JOB = Path(__file__).with_name("train_job.py")


def _job(images: Path, out: Path, data_dir: Path, ckpt: Path, delay: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    args = [sys.executable, str(JOB), str(images), str(out), str(data_dir), str(ckpt), str(delay)]
    return subprocess.Popen(args, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True)


def _wait_for_checkpoint(proc: subprocess.Popen, ckpt: Path, step: int) -> None:
    deadline = time.monotonic() + 120
    while not (ckpt / f"step-{step:08d}" / "meta.json").is_file():
        assert proc.poll() is None, "job ended before its checkpoint"
        assert time.monotonic() < deadline, "no checkpoint in time"
        time.sleep(0.05)


def test_killed_job_resumes_to_the_same_weights(
    circles: list[TrainingImage], data_dir: Path, tiny_sd15: Path, tmp_path: Path
) -> None:
    images = circles[0].path.parent
    reference = _job(images, tmp_path / "ref", data_dir, tmp_path / "ref-ckpt", 0.0)
    victim = _job(images, tmp_path / "out", data_dir, tmp_path / "ckpt", 0.3)
    _wait_for_checkpoint(victim, tmp_path / "ckpt", 8)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL
    assert not (tmp_path / "out").exists()

    resumed = _job(images, tmp_path / "out", data_dir, tmp_path / "ckpt", 0.0)
    lines = resumed.communicate(timeout=300)[0].split()
    assert resumed.returncode == 0 and reference.wait(timeout=300) == 0
    first_step = int(lines[1])
    assert first_step in (9, 13)  # continues after the newest checkpoint (step 8, or 12)
    summary = json.loads((tmp_path / "out" / "training.json").read_text())
    assert summary["stats"]["resumed_from_step"] == first_step - 1
    assert len(summary["losses"]) == 16
    assert not list((tmp_path / "ckpt").glob("step-*"))  # cleared after success
    # Each checkpoint's LoRA files and sample stay (the daemon copies them, then cleans up).
    saved = sorted(p.name for p in (tmp_path / "ckpt" / "saved").iterdir())
    assert saved == ["step-000004", "step-000008", "step-000012"]

    name = "pytorch_lora_weights.safetensors"
    expected = load_file(tmp_path / "ref" / name)
    got = load_file(tmp_path / "out" / name)
    assert expected.keys() == got.keys()
    for key, value in expected.items():
        assert (value - got[key]).abs().max() < 1e-5, key
    ref_losses = json.loads((tmp_path / "ref" / "training.json").read_text())["losses"]
    assert summary["losses"] == pytest.approx(ref_losses, abs=1e-5)
