"""Queue latencies against a real `lorabot daemon`: submit → worker started, and
completed → notification fetched by a waiting long poll. Usage: python benchmarks/bench_queue.py
[--runs N] [--steps S]."""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.rpc_client import call, funded_dataset  # noqa: E402
from daemon.process import DaemonProcess, running_daemon  # noqa: E402


async def one_run(
    http: aiohttp.ClientSession, daemon: DaemonProcess, dataset_id: int, run: int, steps: int
) -> tuple[float, float]:
    """Submit one job; measure both latencies (seconds)."""
    body = {
        "dataset_id": dataset_id,
        "offering_id": "tiny-lora",
        "preset": "fast",
        "overrides": {"steps": steps},
        "idempotency_key": f"bench-{run}-{time.time()}",
    }
    submitted = time.monotonic()
    job = await call(http, daemon, "POST", "/v1/jobs", json=body)
    while (await call(http, daemon, "GET", f"/v1/jobs/{job['id']}"))["status"] == "queued":
        await asyncio.sleep(0.005)
    started = time.monotonic() - submitted
    while True:
        polled = await call(http, daemon, "GET", "/v1/notifications?platform=telegram&wait=30")
        fetched = time.time()
        rows = polled["notifications"]
        await call(
            http, daemon, "POST", "/v1/notifications/ack", json={"ids": [n["id"] for n in rows]}
        )
        done = [
            n
            for n in rows
            if n["payload"].get("job_id") == job["id"] and n["kind"] != "job_started"
        ]
        if done:
            break
    view = await call(http, daemon, "GET", f"/v1/jobs/{job['id']}")
    if view["status"] != "completed":
        raise RuntimeError(f"job {job['id']} ended {view['status']}: {view['error']}")
    finished = datetime.fromisoformat(view["finished_at"]).timestamp()
    return started, fetched - finished


def show(name: str, values: list[float]) -> None:
    ms = [v * 1000 for v in values]
    print(
        f"{name:<38} median {statistics.median(ms):8.1f} ms   max {max(ms):8.1f} ms   n={len(ms)}"
    )


async def main(runs: int, steps: int) -> None:
    """Start a daemon on a temporary DATA_DIR and time `runs` jobs one after another."""
    with tempfile.TemporaryDirectory(prefix="lorabot-bench-") as tmp:
        env = {"LORABOT_LOG_LEVEL": "WARNING"}
        with running_daemon(Path(tmp), env=env) as daemon:
            async with aiohttp.ClientSession() as http:
                dataset_id = await funded_dataset(http, daemon, 100_000)
                starts, deliveries = [], []
                for run in range(runs):
                    started, delivered = await one_run(http, daemon, dataset_id, run, steps)
                    print(
                        f"run {run + 1}: worker started after {started * 1000:.1f} ms, "
                        f"notification fetched {delivered * 1000:.1f} ms after completion"
                    )
                    starts.append(started)
                    deliveries.append(delivered)
    show("submit -> worker started", starts)
    show("completed -> notification fetched", deliveries)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.steps))
