"""Many tiny generations from many accounts: the Ray executor (two worker nodes) against the
local executor (two slots), each behind a real `lorabot daemon`.

For each executor: train one `tiny-lora` model and publish it (free), then submit `--jobs`
generations (1 image, 1 step, 32 px) from `--accounts` accounts, account by
account (each account's whole backlog before the next account's: the order in which a
first-come queue would make the last account wait behind everyone), and wait for them all.
Printed side by side, with the ratio Ray / local:

- completed jobs, and how many of them a warm worker took without loading the model; jobs
  per second from the first submit to the last finish;
- fairness: the start rank of each account's first job (1 = the first job to start), the worst
  over all accounts, beside the rank a first-come queue would give it; and the longest wait of
  any account's first job;
- dispatch overhead per job: the time a job holds its slot (started → finished) minus the
  worker's own render seconds — process and actor start, shipping files, the stream.

The Ray cluster is `tests.ray.cluster` (a head and two worker nodes on this host, one
`lorabot_gpu` each). Usage: python benchmarks/bench_ray.py [--jobs 300] [--accounts 30]
[--executors ray,local].
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.rpc_client import call, funded_dataset  # noqa: E402
from daemon.process import DaemonProcess, running_daemon  # noqa: E402

COMMON_ENV = {
    "LORABOT_LOG_LEVEL": "WARNING",
    "LORABOT_RATE_LIMIT_PER_MINUTE": "0",
    "OMP_NUM_THREADS": "1",  # the tiny model is faster so on a small shared CPU
}
SLOTS = 2
RESOLUTION = 32  # the smallest the tiny offering renders
TERMINAL = {"completed", "failed", "cancelled"}


def as_user(daemon: DaemonProcess, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {daemon.rpc_token}", "X-User": user}


async def user_call(
    http: aiohttp.ClientSession, daemon: DaemonProcess, user: str, method: str, path: str,
    **kwargs: Any,
) -> Any:  # fmt: skip
    async with http.request(
        method, daemon.url + path, headers=as_user(daemon, user), **kwargs
    ) as response:
        body = await response.json()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path} as {user}: {response.status} {body}")
        return body


async def public_model(http: aiohttp.ClientSession, daemon: DaemonProcess) -> int:
    """Train a tiny model and publish it for free: every account may generate with it."""
    dataset_id = await funded_dataset(http, daemon, 100_000)
    body = {
        "dataset_id": dataset_id, "offering_id": "tiny-lora", "preset": "fast",
        "overrides": {"steps": 2}, "idempotency_key": "bench-ray-train",
    }  # fmt: skip
    job = await call(http, daemon, "POST", "/v1/jobs", json=body)
    while (view := await call(http, daemon, "GET", f"/v1/jobs/{job['id']}"))["status"] not in (
        TERMINAL
    ):
        await asyncio.sleep(0.5)
    if view["status"] != "completed":
        raise RuntimeError(f"the training ended {view['status']}: {view['error']}")
    publish = {"visibility": "public", "licence": "CC-BY-4.0", "price_per_use": 0}
    await call(http, daemon, "PATCH", f"/v1/models/{view['model_id']}", json=publish)
    return int(view["model_id"])


async def submit_all(
    http: aiohttp.ClientSession, daemon: DaemonProcess, model_id: int, jobs: int, accounts: int
) -> list[tuple[str, int]]:
    """Fund the accounts, then submit account by account; (user, job id) in submit order."""
    users = [f"discord:{9000 + index}" for index in range(accounts)]
    for user in users:
        me = await user_call(http, daemon, user, "GET", "/v1/me")
        grant = {"amount": 10_000, "reason": "bench", "idempotency_key": f"bench-{user}"}
        await call(http, daemon, "POST", f"/admin/accounts/{me['id']}/grant", json=grant)
    submitted = []
    for index, user in enumerate(users):
        for number in range(jobs // accounts + (index < jobs % accounts)):
            body = {
                "model_id": model_id, "prompt": "zqx a picture", "count": 1, "steps": 1,
                "resolution": RESOLUTION, "seed": number,
                "idempotency_key": f"bench-{user}-{number}",
            }  # fmt: skip
            created = await user_call(http, daemon, user, "POST", "/v1/generations", json=body)
            submitted.append((user, int(created["id"])))
    return submitted


async def views_when_done(
    http: aiohttp.ClientSession, daemon: DaemonProcess, submitted: list[tuple[str, int]]
) -> list[dict[str, Any]]:
    """Every submitted job's view once all are final (one listing per account per poll)."""
    users = sorted({user for user, _ in submitted})
    wanted = {job_id for _, job_id in submitted}
    while True:
        views = {}
        for user in users:
            listed = await user_call(
                http, daemon, user, "GET", "/v1/jobs", params={"kind": "generate", "limit": 500}
            )
            views.update({job["id"]: job for job in listed["jobs"] if job["id"] in wanted})
        if len(views) == len(wanted) and all(v["status"] in TERMINAL for v in views.values()):
            return [views[job_id] for _, job_id in submitted]
        await asyncio.sleep(1.0)


def at(view: dict[str, Any], field: str) -> float:
    return datetime.fromisoformat(view[field]).timestamp()


def figures(submitted: list[tuple[str, int]], views: list[dict[str, Any]]) -> dict[str, float]:
    """The printed figures of one run."""
    done = [v for v in views if v["status"] == "completed"]
    started = sorted(done, key=lambda v: at(v, "started_at"))
    rank = {v["id"]: position for position, v in enumerate(started, start=1)}
    firsts: dict[str, tuple[int, int]] = {}  # user -> (submit position, job id) of the first
    for position, (user, job_id) in enumerate(submitted, start=1):
        firsts.setdefault(user, (position, job_id))
    by_id = {v["id"]: v for v in views}
    first_ranks = [rank.get(job_id, len(views)) for _, job_id in firsts.values()]
    first_waits = [
        at(by_id[job_id], "started_at") - at(by_id[job_id], "created_at")
        for _, job_id in firsts.values()
        if by_id[job_id]["started_at"]
    ]
    overheads = [
        at(v, "finished_at") - at(v, "started_at") - float(v["result"]["seconds"]) for v in done
    ]
    span = max(at(v, "finished_at") for v in done) - min(at(v, "created_at") for v in views)
    return {
        "completed": len(done),
        "warm starts (no model load)": sum(bool(v["result"]["stats"].get("warm")) for v in done),
        "jobs per second": len(done) / span,
        "worst first-job start rank": max(first_ranks),
        "  (first-come rank of that account)": max(pos for pos, _ in firsts.values()),
        "longest first-job wait, s": max(first_waits),
        "dispatch overhead per job, median s": statistics.median(overheads),
        "dispatch overhead per job, p95 s": sorted(overheads)[int(0.95 * (len(overheads) - 1))],
    }


@contextmanager
def executor_env(name: str, tmp: Path) -> Iterator[dict[str, str]]:
    """The daemon's environment for `name`; for Ray, a local cluster around the run."""
    if name == "local":
        yield {"LORABOT_WORKERS": str(SLOTS)}
        return
    from tests.ray.cluster import RESOURCE, RayCluster  # Ray loads only for its run

    cluster = RayCluster.start(workers=SLOTS)
    try:
        yield {
            "LORABOT_EXECUTOR": "ray",
            "LORABOT_RAY_ADDRESS": cluster.address,
            "LORABOT_RAY_RESOURCE": RESOURCE,
            "LORABOT_RAY_SLOTS": str(SLOTS),
            "LORABOT_RAY_WORKER_DATA_DIR": str(tmp / "worker-data"),
        }
    finally:
        cluster.stop()


async def run(name: str, jobs: int, accounts: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"lorabot-bench-{name}-") as folder:
        tmp = Path(folder)
        with executor_env(name, tmp) as env, running_daemon(
            tmp / "data", env={**COMMON_ENV, **env}, timeout=60
        ) as daemon:  # fmt: skip
            async with aiohttp.ClientSession() as http:
                model_id = await public_model(http, daemon)
                began = time.monotonic()
                submitted = await submit_all(http, daemon, model_id, jobs, accounts)
                views = await views_when_done(http, daemon, submitted)
                print(f"{name}: {len(views)} jobs final after {time.monotonic() - began:.0f} s")
    return figures(submitted, views)


async def main(jobs: int, accounts: int, executors: list[str]) -> None:
    results = {name: await run(name, jobs, accounts) for name in executors}
    names = list(results)
    print(f"\n{jobs} generations from {accounts} accounts, {SLOTS} slots")
    print(f"{'':<40}" + "".join(f"{name:>12}" for name in names) + (
        f"{'ray/local':>12}" if names == ["ray", "local"] else ""
    ))  # fmt: skip
    for key in results[names[0]]:
        row = "".join(f"{results[name][key]:>12.3f}" for name in names)
        if names == ["ray", "local"] and results["local"][key]:
            row += f"{results['ray'][key] / results['local'][key]:>12.2f}"
        print(f"{key:<40}{row}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--accounts", type=int, default=30)
    parser.add_argument("--executors", default="ray,local")
    args = parser.parse_args()
    asyncio.run(main(args.jobs, args.accounts, args.executors.split(",")))
