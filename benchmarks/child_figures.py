"""Run a script or module as `__main__` and write its figures (peak GPU memory) as JSON at exit.

    python child_figures.py FIGURES.json (--module core.cli | SCRIPT) ARGS...

bench_trainer.py wraps every trained job in this, ours and the reference alike, so each is
measured the same way; ru_maxrss and wall time come from the parent's `wait4`.
"""

from __future__ import annotations

import atexit
import json
import runpy
import sys
from pathlib import Path


def _write_figures(path: Path) -> None:
    figures: dict[str, float | str] = {}
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        figures["cuda_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
        figures["device"] = torch.cuda.get_device_name()
    path.write_text(json.dumps(figures))


def main() -> None:
    """Hand argv over to the wrapped program, as `python -m` or `python SCRIPT` would."""
    figures, target = Path(sys.argv[1]), sys.argv[2]
    atexit.register(_write_figures, figures)
    if target == "--module":
        sys.argv = [sys.argv[3], *sys.argv[4:]]
        runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
    else:
        sys.argv = [target, *sys.argv[3:]]
        sys.path.insert(0, str(Path(target).resolve().parent))
        runpy.run_path(target, run_name="__main__")


if __name__ == "__main__":
    main()
