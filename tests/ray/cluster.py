"""A real local Ray cluster for the tests and the benchmark: `ray start` processes on this host.

A head that offers no CPU and none of the GPU stand-in (the daemon's driver joins there), and
worker nodes that each offer one `lorabot_gpu` and one CPU, every node with a temp dir of its
own. Each node is one `ray start --block` process and its children; stopping a node kills
exactly that process tree (never `ray stop`, which would end every Ray process on the host).
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from daemon.process import free_port

RESOURCE = "lorabot_gpu"
OBJECT_STORE_BYTES = 100_000_000
READY_SECONDS = 90.0
RAY_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    # A killed node is declared dead within seconds, not the default ~30 s.
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}
_READY_CHECK = """
import json, sys, time, ray
ray.init(address=sys.argv[1], log_to_driver=False, configure_logging=False)
deadline = time.monotonic() + float(sys.argv[3])
while time.monotonic() < deadline:
    if ray.cluster_resources().get(sys.argv[2], 0) >= int(sys.argv[4]):
        sys.exit(0)
    time.sleep(0.5)
sys.exit(1)
"""


@dataclass
class Node:
    """One `ray start --block` process (its children are the node's raylet, agents, actors)."""

    name: str
    temp_dir: Path
    process: subprocess.Popen[bytes]

    def pids(self) -> list[int]:
        """The node's process tree: `ray start` and all its descendants."""
        return [self.process.pid, *_descendants(self.process.pid)]

    def kill(self) -> None:
        """`kill -9` every process of the node at once."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)


@dataclass
class RayCluster:
    """A head and worker nodes on 127.0.0.1; `address` is what `LORABOT_RAY_ADDRESS` takes."""

    root: Path
    port: int
    nodes: list[Node] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def workers(self) -> list[Node]:
        return [node for node in self.nodes if node.name != "head"]

    @classmethod
    def start(cls, workers: int = 2) -> "RayCluster":
        """Start the head and `workers` worker nodes; return once every unit is offered."""
        # Short paths: Ray's unix sockets live under the temp dir (108-byte limit).
        cluster = cls(Path(tempfile.mkdtemp(prefix="lbray-", dir="/tmp")), free_port())
        try:
            cluster._launch(
                "head",
                "--head",
                f"--port={cluster.port}",
                "--num-cpus=0",
                "--include-dashboard=false",
            )
            for index in range(workers):
                cluster.add_worker(f"worker-{index}")
            cluster.wait_ready(workers)
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def add_worker(self, name: str) -> Node:
        """Start a worker node offering one unit of the GPU stand-in."""
        return self._launch(
            name,
            f"--address={self.address}",
            "--num-cpus=1",
            f"--resources={json.dumps({RESOURCE: 1})}",
        )

    def _launch(self, name: str, *flags: str) -> Node:
        temp_dir = self.root / name
        temp_dir.mkdir()
        ray = Path(sys.executable).with_name("ray")
        with (self.root / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [
                    str(ray),
                    "start",
                    "--block",
                    *flags,
                    f"--temp-dir={temp_dir}",
                    f"--object-store-memory={OBJECT_STORE_BYTES}",
                    "--disable-usage-stats",
                ],
                env={**os.environ, **RAY_ENV},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        node = Node(name, temp_dir, process)
        self.nodes.append(node)
        return node

    def wait_ready(self, units: int) -> None:
        """Block until the cluster offers `units` of the GPU stand-in (a driver that asks)."""
        subprocess.run(
            [sys.executable, "-c", _READY_CHECK, self.address, RESOURCE, str(READY_SECONDS),
             str(units)],
            env={**os.environ, **RAY_ENV}, check=True, timeout=READY_SECONDS + 30,
            capture_output=True,
        )  # fmt: skip

    def node_of(self, pid: int) -> Node | None:
        """The worker node whose process tree holds `pid`."""
        return next((node for node in self.workers if pid in node.pids()), None)

    def stop(self) -> None:
        """Kill every node's processes and remove the temp dirs."""
        for node in reversed(self.nodes):
            node.kill()
        self.nodes.clear()
        shutil.rmtree(self.root, ignore_errors=True)


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
