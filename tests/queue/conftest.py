"""Queue fixtures: a tiny base model built once, shared by every test's DATA_DIR, and helpers
that drive jobs over real HTTP and watch real worker processes."""

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from daemon.process import DaemonProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
TERMINAL = {"completed", "failed", "cancelled"}


def build_base_models(data_dir: Path, location: str) -> Path:
    """DATA_DIR/base-models with the builtin `location` built (in a child process, so this
    test process never imports torch)."""
    code = (
        "import sys; from pathlib import Path;"
        "from core.training.base_models import ensure_base_model;"
        "ensure_base_model(sys.argv[2], Path(sys.argv[1]))"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(data_dir), location],
        cwd=REPO_ROOT,
        check=True,
        timeout=300,
    )
    return data_dir / "base-models"


@pytest.fixture(scope="session")
def shared_base_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DATA_DIR/base-models with the builtin tiny SD-1.5 built once."""
    return build_base_models(tmp_path_factory.mktemp("queue-base"), "builtin:tiny-sd15")


@pytest.fixture(scope="session")
def shared_flux_base_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DATA_DIR/base-models with the builtin tiny FLUX.1 built once."""
    return build_base_models(tmp_path_factory.mktemp("flux-base"), "builtin:tiny-flux")


def link_base_models(data_dir: Path, shared: Path) -> None:
    """Point a fresh DATA_DIR at the shared base models (skips the build in each test)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / "base-models"
    if not target.exists():
        target.symlink_to(shared, target_is_directory=True)


async def wait_for(
    check: Callable[[], Awaitable[Any]], *, timeout: float, every: float = 0.2, what: str = ""
) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")


def pid_alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children_of(pid: int) -> list[int]:
    """Ids of the live child processes of `pid` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def worker_pids(parent: int) -> list[int]:
    """Children of `parent` that run `core.training.worker`."""
    pids = []
    for pid in children_of(parent):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue
        if b"core.training.worker" in cmdline:
            pids.append(pid)
    return pids


async def rpc(
    http: aiohttp.ClientSession,
    daemon: DaemonProcess,
    method: str,
    path: str,
    *,
    user: str,
    admin: bool = False,
    **kwargs: Any,
) -> Any:
    """One RPC call of `user` (or an operator's, with `admin`) that must succeed; its JSON."""
    token = daemon.admin_token if admin else daemon.rpc_token
    headers = {"Authorization": f"Bearer {token}", "X-User": user}
    async with http.request(method, daemon.url + path, headers=headers, **kwargs) as response:
        body = await response.json()
        assert response.status < 300, (response.status, body)
        return body


def kill9(pid: int) -> None:
    """SIGKILL a process we started (directly or through the daemon)."""
    os.kill(pid, 9)
