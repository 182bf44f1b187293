"""Generation latency and throughput against a real `lorabot daemon` on the tiny model.

Trains a `tiny-lora` model over the RPC, then times submit → first image downloadable for the
first generation (cold: worker process start, torch/diffusers import, pipeline load) and for
the next ones (warm: the same process, nothing loaded), and images per second of warm
requests. Usage: python benchmarks/bench_generation.py [--runs N] [--count C] [--steps S].
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.rpc_client import call, funded_dataset, headers  # noqa: E402
from daemon.process import DaemonProcess, running_daemon  # noqa: E402


async def until_final(http: aiohttp.ClientSession, daemon: DaemonProcess, path: str) -> Any:
    while True:
        view = await call(http, daemon, "GET", path)
        if view["status"] in ("completed", "failed", "cancelled"):
            if view["status"] != "completed":
                raise RuntimeError(f"{path} ended {view['status']}: {view['error']}")
            return view
        await asyncio.sleep(0.2)


async def trained_model(http: aiohttp.ClientSession, daemon: DaemonProcess) -> int:
    dataset_id = await funded_dataset(http, daemon, 100_000)
    body = {
        "dataset_id": dataset_id, "offering_id": "tiny-lora", "preset": "fast",
        "overrides": {"steps": 10}, "idempotency_key": "bench-train",
    }  # fmt: skip
    job = await call(http, daemon, "POST", "/v1/jobs", json=body)
    return int((await until_final(http, daemon, f"/v1/jobs/{job['id']}"))["model_id"])


async def ready(http: aiohttp.ClientSession, daemon: DaemonProcess, job_id: int) -> None:
    """Wait for the generation's `generation_ready` as a bot does: a waiting long poll."""
    while True:
        path = "/v1/notifications?platform=telegram&wait=30"
        rows = (await call(http, daemon, "GET", path))["notifications"]
        if rows:
            ids = {"ids": [row["id"] for row in rows]}
            await call(http, daemon, "POST", "/v1/notifications/ack", json=ids)
        for row in rows:
            if row["payload"].get("job_id") == job_id:
                if row["kind"] != "generation_ready":
                    raise RuntimeError(f"generation {job_id}: {row['kind']} {row['payload']}")
                return


async def one_generation(
    http: aiohttp.ClientSession, daemon: DaemonProcess, model_id: int, run: int, **fields: Any
) -> tuple[float, dict[str, Any]]:
    """Submit one generation; seconds until its first image is downloaded, and its job."""
    body = {
        "model_id": model_id, "prompt": "zqx a picture", "seed": run,
        "idempotency_key": f"bench-gen-{run}", **fields,
    }  # fmt: skip
    submitted = time.monotonic()
    created = await call(http, daemon, "POST", "/v1/generations", json=body)
    await ready(http, daemon, created["id"])
    view = await call(http, daemon, "GET", f"/v1/generations/{created['id']}")
    url = daemon.url + view["images"][0]["url"]
    async with http.get(url, headers=headers(daemon, url)) as response:
        await response.read()
    elapsed = time.monotonic() - submitted
    return elapsed, await call(http, daemon, "GET", f"/v1/jobs/{created['id']}")


async def measure(
    http: aiohttp.ClientSession, daemon: DaemonProcess, runs: int, count: int, steps: int
) -> tuple[float, list[float], list[float]]:
    """Train once, then time one cold and `runs` warm generations in a row (seconds), with the
    worker's own images per second of each warm one."""
    model_id = await trained_model(http, daemon)
    fields = {"count": count, "steps": steps}
    cold, job = await one_generation(http, daemon, model_id, 0, **fields)
    print(f"cold: first image after {cold * 1000:.0f} ms ({job['result']['stats']})")
    warm, worker_rates = [], []
    for run in range(1, runs + 1):
        elapsed, job = await one_generation(http, daemon, model_id, run, **fields)
        stats = job["result"]["stats"]
        assert stats["warm"] and stats["pipeline_loads"] == 1, stats
        warm.append(elapsed)
        worker_rates.append(count / job["result"]["seconds"])
        print(f"warm run {run}: {elapsed * 1000:.0f} ms")
    return cold, warm, worker_rates


async def main(runs: int, count: int, steps: int) -> None:
    """Start a daemon on a temporary DATA_DIR and print the figures."""
    with tempfile.TemporaryDirectory(prefix="lorabot-bench-") as tmp:
        env = {"LORABOT_LOG_LEVEL": "WARNING"}
        with running_daemon(Path(tmp), env=env) as daemon:
            async with aiohttp.ClientSession() as http:
                cold, warm, worker_rates = await measure(http, daemon, runs, count, steps)
    ms = [value * 1000 for value in warm]
    print(f"submit -> image, cold: {cold * 1000:.0f} ms")
    print(f"submit -> image, warm: median {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms")
    print(
        f"warm throughput: {runs * count / sum(warm):.2f} images/s over the RPC, "
        f"{statistics.median(worker_rates):.2f} images/s in the worker "
        f"({count} image(s) of {steps} steps per request)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count", type=int, default=4)
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.count, args.steps))
