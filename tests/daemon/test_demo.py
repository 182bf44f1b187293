"""`lorabot demo` runs its scripted steps against a daemon it starts, and says so."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "core.cli", "demo", "--data-dir", str(tmp_path / "demo")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    steps = ("Account", "Admin grant", "Dataset", "Upload", "Captions", "Estimate", "Job")
    for step in (*steps, "Training", "Model", "Generation", "Strength sheet", "finished"):
        assert step in out.stdout
    assert "6 added, 2 refused" in out.stdout
    assert "6 written" in out.stdout
    sheets = list((tmp_path / "demo" / "demo-output").glob("generation-*/sheet.png"))
    assert len(sheets) == 1 and f"strength sheet: {sheets[0].parent}" in out.stdout.replace(
        "\n", ""
    )
    assert (tmp_path / "demo" / "lorabot.sqlite3").is_file()
