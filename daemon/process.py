"""Run a `lorabot daemon` as a child process on a free port (the demo and tests use it)."""

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A port nobody listens on right now (the daemon binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DaemonProcess:
    """A running daemon: where it listens, its tokens, its log file."""

    url: str
    rpc_token: str
    admin_token: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the daemon's log (for error messages)."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> int:
        """Ask the daemon to stop (SIGTERM), kill it if it does not; its exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return int(self.process.returncode)


def _wait_healthy(daemon: DaemonProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if daemon.process.poll() is not None:
            raise RuntimeError(f"the daemon exited early:\n{daemon.log_tail()}")
        try:
            with urlopen(f"{daemon.url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except (URLError, OSError):
            time.sleep(0.1)
    raise RuntimeError(
        f"the daemon did not answer /healthz in {timeout:.0f}s:\n{daemon.log_tail()}"
    )


@contextmanager
def running_daemon(
    data_dir: Path,
    *,
    port: int = 0,
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
    log_name: str = "daemon.log",
) -> Iterator[DaemonProcess]:
    """Start `lorabot daemon` on DATA_DIR with generated tokens; stop it on exit.

    Replicas sharing one DATA_DIR each take a `log_name` of their own.
    """
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    rpc_token, admin_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("LORABOT_")}
    child_env.update(
        {
            "LORABOT_DATA_DIR": str(data_dir),
            "LORABOT_HOST": "127.0.0.1",
            "LORABOT_PORT": str(port),
            "LORABOT_RPC_TOKEN": rpc_token,
            "LORABOT_ADMIN_TOKEN": admin_token,
            **(env or {}),
        }
    )
    log_path = data_dir / log_name
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "daemon"],
            cwd=REPO_ROOT,
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    daemon = DaemonProcess(
        f"http://127.0.0.1:{port}", rpc_token, admin_token, data_dir, log_path, process
    )
    try:
        _wait_healthy(daemon, timeout)
        yield daemon
    finally:
        daemon.stop()
