"""RPC throughput and latency of a real `lorabot daemon`, next to references run the same way.

Reads (`GET /v1/me`, `GET /v1/jobs/{id}`) against a bare aiohttp hello-world server; job
submission (estimate + debit + queue insert, a distinct idempotency key each) at 1, 10 and 100
concurrent clients on SQLite and, with `--postgres`, on PostgreSQL; image uploads of
12-megapixel JPEGs against Pillow's decode-only rate of the same files. The daemon runs as an
operator would run it for one person: queue off, rate limit off, INFO logs to a file.

Usage: python benchmarks/bench_rpc.py [--seconds S] [--postgres URL] [--images N]
"""

import argparse
import asyncio
import io
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.rpc_client import call, funded_dataset, headers  # noqa: E402
from daemon.process import DaemonProcess, free_port, running_daemon  # noqa: E402

READ_CLIENTS = 10
SUBMIT_CLIENTS = (1, 10, 100)
MAX_REQUESTS = 20_000  # per measurement, besides the time bound
DAEMON_ENV = {"LORABOT_RUN_QUEUE": "false", "LORABOT_RATE_LIMIT_PER_MINUTE": "0"}
HELLO_SERVER = """
import sys
from aiohttp import web
async def hello(request):
    return web.json_response({"hello": "world"})
app = web.Application()
app.router.add_get("/", hello)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""

Call = Callable[[aiohttp.ClientSession, int], Awaitable[None]]


@dataclass
class Figures:
    """Throughput and latency of one measurement."""

    count: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def load(
    http: aiohttp.ClientSession, call: Call, *, clients: int, seconds: float
) -> Figures:
    """`clients` loops calling `call(http, n)` with a fresh n each, until time or count is up."""
    counter = iter(range(MAX_REQUESTS))
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def client() -> None:
        for n in counter:
            if time.monotonic() >= deadline:
                return
            started = time.perf_counter()
            await call(http, n)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return Figures(len(latencies), time.perf_counter() - started, latencies)


async def prepare(http: aiohttp.ClientSession, daemon: DaemonProcess) -> tuple[int, int]:
    """A funded account, a 4-image dataset and one queued job; their ids."""
    dataset_id = await funded_dataset(http, daemon, 100_000_000)
    job = await call(http, daemon, "POST", "/v1/jobs", json=job_body(dataset_id, "first"))
    return dataset_id, int(job["id"])


def job_body(dataset_id: int, key: str) -> dict[str, Any]:
    return {
        "dataset_id": dataset_id,
        "offering_id": "tiny-lora",
        "preset": "fast",
        "idempotency_key": key,
    }


def getter(url: str, hdrs: dict[str, str]) -> Call:
    async def get(http: aiohttp.ClientSession, _n: int) -> None:
        async with http.get(url, headers=hdrs) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {url}: {response.status}")

    return get


def submitter(daemon: DaemonProcess, dataset_id: int, prefix: str) -> Call:
    url, hdrs = daemon.url + "/v1/jobs", headers(daemon, "/v1/jobs")

    async def submit(http: aiohttp.ClientSession, n: int) -> None:
        body = job_body(dataset_id, f"{prefix}-{n}")
        async with http.post(url, json=body, headers=hdrs) as response:
            await response.read()
            if response.status != 201:
                raise RuntimeError(f"POST /v1/jobs: {response.status} {await response.text()}")

    return submit


def row(name: str, figures: Figures, reference: Figures | None = None) -> None:
    ratio = f"{figures.rate / reference.rate:6.2f}×" if reference else "      -"
    print(
        f"{name:<34} {figures.rate:8.1f}/s {ratio}   p50 {figures.quantile(0.5) * 1000:7.1f} ms"
        f"   p99 {figures.quantile(0.99) * 1000:7.1f} ms   n={figures.count}"
    )


@contextmanager
def hello_server() -> Iterator[str]:
    """A bare aiohttp server answering a small JSON object on `/`."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", HELLO_SERVER, str(port)])
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(10)


def session(clients: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients))


async def wait_ready(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            try:
                async with http.get(url) as response:
                    await response.read()
                    return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


async def bench_reads(daemon: DaemonProcess, job_id: int, seconds: float) -> None:
    with hello_server() as url:
        await wait_ready(url)
        async with session(READ_CLIENTS) as http:
            bare = await load(http, getter(url, {}), clients=READ_CLIENTS, seconds=seconds)
            row(f"bare aiohttp GET / ({READ_CLIENTS} clients)", bare)
            for path in ("/v1/me", f"/v1/jobs/{job_id}"):
                get = getter(daemon.url + path, headers(daemon, path))
                figures = await load(http, get, clients=READ_CLIENTS, seconds=seconds)
                row(f"lorabot GET {path}", figures, bare)


async def bench_submits(daemon: DaemonProcess, dataset_id: int, seconds: float, db: str) -> None:
    for clients in SUBMIT_CLIENTS:
        async with session(clients) as http:
            submit = submitter(daemon, dataset_id, f"bench-{clients}-{uuid.uuid4().hex[:8]}")
            figures = await load(http, submit, clients=clients, seconds=seconds)
            row(f"submit, {db}, {clients} clients", figures)


def photo(seed: int, size: tuple[int, int] = (4000, 3000)) -> bytes:
    """A 12 MP JPEG with photo-like detail (smooth shapes plus grain), EXIF and a comment."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (size[1] // 64, size[0] // 64, 3), np.uint8))
    smooth = np.asarray(coarse.resize(size, Image.Resampling.BICUBIC), np.int16)
    grain = rng.normal(0, 6, (size[1], size[0], 1)).astype(np.int16)
    image = Image.fromarray(np.clip(smooth + grain, 0, 255).astype(np.uint8))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "BenchCam", "Model 1", 1  # make, model, upright
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, exif=exif, comment=b"lorabot benchmark")
    return buffer.getvalue()


def decode_only(files: list[bytes]) -> float:
    """Seconds Pillow takes to decode every file fully (the reference of uploads)."""
    started = time.perf_counter()
    for data in files:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    return time.perf_counter() - started


async def bench_uploads(daemon: DaemonProcess, count: int) -> None:
    files = [photo(seed) for seed in range(count)]
    megabytes = sum(len(data) for data in files) / 1e6
    reference = decode_only(files)
    async with session(1) as http:
        dataset = await call(http, daemon, "POST", "/v1/datasets", json={"name": "uploads"})
        path = f"/v1/datasets/{dataset['id']}/images"
        started = time.perf_counter()
        for i, data in enumerate(files):  # one file per request, one client: like a chat bot
            form = aiohttp.FormData()
            form.add_field("image", data, filename=f"{i}.jpg", content_type="image/jpeg")
            result = await call(http, daemon, "POST", path, data=form)
            if result["refused"]:
                raise RuntimeError(f"upload refused: {result['refused']}")
        uploaded = time.perf_counter() - started
    print(f"{count} JPEGs of 4000×3000, {megabytes / count:.1f} MB each on average")
    print(
        f"{'Pillow decode only':<34} {megabytes / reference:8.1f} MB/s "
        f"{count / reference:6.2f} images/s"
    )
    print(
        f"{'lorabot upload (1 file/request)':<34} {megabytes / uploaded:8.1f} MB/s "
        f"{count / uploaded:6.2f} images/s   {reference / uploaded:.2f}× decode-only"
    )


async def bench_daemon(daemon: DaemonProcess, args: argparse.Namespace, db: str) -> None:
    async with aiohttp.ClientSession() as http:
        dataset_id, job_id = await prepare(http, daemon)
    await bench_reads(daemon, job_id, args.seconds)
    await bench_submits(daemon, dataset_id, args.seconds, db)
    if db == "sqlite" and args.images:
        await bench_uploads(daemon, args.images)


async def admin_sql(url: str, statement: str) -> None:
    import asyncpg  # only with --postgres

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def main(args: argparse.Namespace) -> None:
    print(f"client and daemon on this machine ({os.cpu_count()} CPUs), {args.seconds:.0f} s each")
    with tempfile.TemporaryDirectory(prefix="lorabot-bench-") as tmp:
        with running_daemon(Path(tmp) / "sqlite", env=DAEMON_ENV) as daemon:
            asyncio.run(bench_daemon(daemon, args, "sqlite"))
        if not args.postgres:
            return
        name = f"lorabot_bench_{uuid.uuid4().hex[:8]}"
        base = args.postgres.rsplit("/", 1)[0]
        asyncio.run(admin_sql(args.postgres, f'CREATE DATABASE "{name}"'))
        try:
            env = {**DAEMON_ENV, "LORABOT_DATABASE_URL": f"{base}/{name}"}
            with running_daemon(Path(tmp) / "postgres", env=env) as daemon:
                asyncio.run(bench_daemon(daemon, args, "postgres"))
        finally:
            asyncio.run(admin_sql(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measurement")
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a database is made there)")
    parser.add_argument("--images", type=int, default=6, help="12 MP JPEGs to upload (0: none)")
    main(parser.parse_args())
