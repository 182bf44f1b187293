"""Samples while training, "Keep this one" and saved checkpoints, on a real `lorabot daemon`
with real worker processes training the tiny model, over real HTTP.

One daemon serves the module; a 6-step training (a checkpoint after each step but the last)
is trained once and shared, and a 100-step one is kept at its first checkpoint (step 10) while
it runs.
"""

import asyncio
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image

from core.naming import file_stem
from daemon.process import DaemonProcess, running_daemon
from tests.conftest import CHECK_ANSWERS_ENV, logged_mismatches
from tests.imagefactory import png_bytes
from tests.queue.conftest import TERMINAL, link_base_models, pid_alive, rpc, wait_for, worker_pids

pytestmark = pytest.mark.slow

ENV = {"LORABOT_LEASE_SECONDS": "15", "LORABOT_LOG_LEVEL": "WARNING", **CHECK_ANSWERS_ENV}
OWNER, OTHER = "telegram:7001", "telegram:7002"
SHORT_STEPS, LONG_STEPS = 6, 100  # the daemon checkpoints every tenth of the run (at least 1)


@pytest.fixture(scope="module")
def daemon(
    tmp_path_factory: pytest.TempPathFactory, shared_base_models: Path
) -> Iterator[DaemonProcess]:
    data_dir = tmp_path_factory.mktemp("samples") / "data"
    link_base_models(data_dir, shared_base_models)
    with running_daemon(data_dir, env=ENV) as process:
        yield process
    assert logged_mismatches(process.log_path) == []


async def call(
    http: aiohttp.ClientSession,
    daemon: DaemonProcess,
    method: str,
    path: str,
    *,
    user: str = OWNER,
    status: int = 200,
    **kwargs: Any,
) -> Any:
    """One RPC call of `user` that must answer `status`; its JSON."""
    headers = {"Authorization": f"Bearer {daemon.rpc_token}", "X-User": user}
    async with http.request(method, daemon.url + path, headers=headers, **kwargs) as response:
        body = await response.json()
        assert response.status == status, (method, path, response.status, body)
        return body


async def download(
    http: aiohttp.ClientSession, daemon: DaemonProcess, url: str, user: str = OWNER
) -> tuple[int, str, bytes]:
    headers = {"Authorization": f"Bearer {daemon.rpc_token}", "X-User": user}
    async with http.get(daemon.url + url, headers=headers) as response:
        return response.status, response.content_type, await response.read()


async def submit(
    http: aiohttp.ClientSession, daemon: DaemonProcess, steps: int, key: str
) -> dict[str, Any]:
    """The owner's funded 4-image dataset, trained for `steps` steps."""
    me = await call(http, daemon, "GET", "/v1/me")
    grant = {"amount": 500, "reason": "test", "idempotency_key": f"grant-{key}"}
    grant_path = f"/admin/accounts/{me['id']}/grant"
    await rpc(http, daemon, "POST", grant_path, user=OWNER, admin=True, json=grant)
    dataset = await call(
        http, daemon, "POST", "/v1/datasets", status=201, json={"name": key, "trigger_word": "zqx"}
    )
    form = aiohttp.FormData()
    for i in range(4):
        form.add_field(
            "image", png_bytes(64, 64, seed=i), filename=f"{i}.png", content_type="image/png"
        )
    await call(http, daemon, "POST", f"/v1/datasets/{dataset['id']}/images", data=form)
    body = {
        "dataset_id": dataset["id"], "offering_id": "tiny-lora", "preset": "fast",
        "overrides": {"steps": steps}, "idempotency_key": key,
    }  # fmt: skip
    return dict(await call(http, daemon, "POST", "/v1/jobs", status=201, json=body))


async def notifications_of(
    http: aiohttp.ClientSession, daemon: DaemonProcess, job_id: int
) -> list[dict[str, Any]]:
    """The job's notifications still pending (the test never acknowledges any)."""
    polled = await call(http, daemon, "GET", "/v1/notifications?platform=telegram&wait=0")
    return [n for n in polled["notifications"] if n["payload"]["job_id"] == job_id]


@dataclass
class Trained:
    job: dict[str, Any]
    checkpoints: list[dict[str, Any]]


@pytest.fixture(scope="module")
def trained(daemon: DaemonProcess) -> Trained:
    """A short training run to its end (the fixture's own event loop: the daemon is a
    process, so the tests' loops talk to it alike)."""

    async def run() -> Trained:
        async with aiohttp.ClientSession() as http:
            job = await submit(http, daemon, SHORT_STEPS, "short")

            async def finished() -> dict[str, Any] | None:
                view = await call(http, daemon, "GET", f"/v1/jobs/{job['id']}")
                return view if view["status"] in TERMINAL else None

            view = await wait_for(finished, timeout=300, every=0.5, what="the training")
            listed = await call(http, daemon, "GET", f"/v1/jobs/{job['id']}/checkpoints")
            return Trained(view, listed["checkpoints"])

    return asyncio.run(run())


async def test_a_training_sends_a_sample_at_each_checkpoint(
    daemon: DaemonProcess, trained: Trained
) -> None:
    job = trained.job
    assert job["status"] == "completed", job
    steps = [c["step"] for c in trained.checkpoints]
    assert steps == list(range(1, SHORT_STEPS))
    async with aiohttp.ClientSession() as http:
        told = await notifications_of(http, daemon, job["id"])
        samples = [n["payload"] for n in told if n["kind"] == "job_sample"]
        assert [p["step"] for p in samples] == steps
        first = trained.checkpoints[0]
        assert samples[0] == {
            "job_id": job["id"], "job_kind": "train", "offering_id": "tiny-lora",
            "reply_to": {}, "step": 1, "total_steps": SHORT_STEPS, "sample": first["sample"],
        }  # fmt: skip
        assert {f["role"] for f in first["files"]} == {"lora_kohya", "lora_diffusers", "samples"}
        kohya = next(f for f in first["files"] if f["role"] == "lora_kohya")
        assert kohya["name"].endswith("-000001.safetensors")  # named after the model, kohya-style
        assert first["sample"] in {f["name"] for f in first["files"]}
        sample = next(f for f in first["files"] if f["name"] == first["sample"])
        status, media, data = await download(http, daemon, sample["url"])
        assert (status, media, len(data)) == (200, "image/png", sample["size"])
        with Image.open(io.BytesIO(data)) as image:
            assert (image.format, image.size) == ("PNG", (64, 64))
        metrics = await call(http, daemon, "GET", f"/v1/jobs/{job['id']}/metrics")
        assert [(s["step"], s["name"]) for s in metrics["samples"]] == [
            (c["step"], c["sample"]) for c in trained.checkpoints
        ]
        # Someone else sees neither the list nor the files.
        await call(
            http, daemon, "GET", f"/v1/jobs/{job['id']}/checkpoints", user=OTHER, status=404
        )
        assert (await download(http, daemon, sample["url"], user=OTHER))[0] == 404


async def test_a_completed_model_lists_its_checkpoints_and_they_download(
    daemon: DaemonProcess, trained: Trained
) -> None:
    async with aiohttp.ClientSession() as http:
        model = await call(http, daemon, "GET", f"/v1/models/{trained.job['model_id']}")
        saved = [f for f in model["files"] if f["role"] == "checkpoint"]
        stem = file_stem(model["name"])
        assert [(f["step"], f["name"]) for f in saved] == [
            (c["step"], f"{stem}-{c['step']:06d}.safetensors") for c in trained.checkpoints
        ]
        assert {f["role"] for f in model["files"]} >= {"lora_kohya", "lora_diffusers", "samples"}
        for entry, checkpoint in zip(saved, trained.checkpoints, strict=True):
            kohya = next(f for f in checkpoint["files"] if f["role"] == "lora_kohya")
            via_model = await download(http, daemon, entry["url"])
            via_job = await download(http, daemon, kohya["url"])
            assert via_model[0] == via_job[0] == 200
            assert via_model[2] == via_job[2] and len(via_model[2]) == entry["size"]


async def test_keep_this_one_ends_the_training_at_that_checkpoint(daemon: DaemonProcess) -> None:
    async with aiohttp.ClientSession() as http:
        job = await submit(http, daemon, LONG_STEPS, "long")
        job_id, keep = job["id"], f"/v1/jobs/{job['id']}/keep"

        async def first_checkpoint() -> tuple[dict[str, Any], list[int]] | None:
            listed = await call(http, daemon, "GET", f"/v1/jobs/{job_id}/checkpoints")
            pids = worker_pids(daemon.process.pid)
            return (listed["checkpoints"][0], pids) if listed["checkpoints"] and pids else None

        checkpoint, pids = await wait_for(first_checkpoint, timeout=240, what="a checkpoint")
        step = checkpoint["step"]
        assert step == LONG_STEPS // 10

        # Refusals change nothing: another's job looks missing, an unknown step is missing.
        await call(http, daemon, "POST", keep, user=OTHER, status=404, json={"step": step})
        unknown = await call(http, daemon, "POST", keep, status=404, json={"step": step + 1})
        assert unknown["error"]["code"] == "CHECKPOINT_NOT_FOUND"
        running = await call(http, daemon, "GET", f"/v1/jobs/{job_id}")
        assert running["status"] == "training" and running["refunded"] == 0

        kept = await call(http, daemon, "POST", keep, json={"step": step})
        cost = kept["cost"]
        assert kept["status"] == "completed" and kept["progress"]["step"] == step
        assert kept["refunded_now"] == kept["refunded"] == cost * (LONG_STEPS - step) // LONG_STEPS
        assert kept["refunded_now"] > 0

        async def gone() -> bool:
            return not any(pid_alive(pid) for pid in pids)

        await wait_for(gone, timeout=8, every=0.1, what="the worker to exit")

        again = await call(http, daemon, "POST", keep, status=409, json={"step": step})
        assert again["error"]["code"] == "JOB_FINISHED"
        ledger = (await call(http, daemon, "GET", "/v1/ledger"))["entries"]
        refunds = [e for e in ledger if e["kind"] == "refund"]
        assert [(e["delta"], e["reference"]) for e in refunds] == [
            (kept["refunded_now"], f"job:{job_id}")
        ]
        me = await call(http, daemon, "GET", "/v1/me")
        assert me["balance"] == sum(e["delta"] for e in ledger) >= 0

        model = await call(http, daemon, "GET", f"/v1/models/{kept['model_id']}")
        assert model["job_id"] == job_id and model["steps"] == step
        by_role = {f["role"]: f for f in model["files"]}
        assert set(by_role) == {"lora_kohya", "lora_diffusers", "samples"}
        kohya_name = f"{file_stem(model['name'])}-{step:06d}.safetensors"
        assert by_role["lora_kohya"]["name"] == kohya_name
        for stored in checkpoint["files"]:
            from_model = await download(http, daemon, by_role[stored["role"]]["url"])
            from_checkpoint = await download(http, daemon, stored["url"])
            assert from_model[0] == 200 and from_model[2] == from_checkpoint[2]

        told = await notifications_of(http, daemon, job_id)
        completed = [n["payload"] for n in told if n["kind"] == "job_completed"]
        assert len(completed) == 1
        assert completed[0]["kept_step"] == step and completed[0]["model_id"] == model["id"]
        await asyncio.sleep(1.0)  # whatever the stopped worker still said is ignored
        after = await call(http, daemon, "GET", f"/v1/jobs/{job_id}")
        assert (after["status"], after["refunded"], after["model_id"]) == (
            "completed", kept["refunded"], model["id"],
        )  # fmt: skip
