"""A daemon's data made once per session and copied for each test that needs a trained LoRA.

One account, known on Telegram and (linked) on Discord, owns a captioned dataset and a tiny
LoRA trained on it by a real worker; its balance is spent to 0 by that training, so a test
grants what it needs. Made by a `lorabot daemon` process (this process never imports torch);
its notifications are acknowledged, so a test's bot starts with nothing pending.
"""

import asyncio
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from daemon.process import running_daemon
from tests.conftest import ADMIN_TOKEN, CHECK_ANSWERS_ENV, RPC_TOKEN, logged_mismatches
from tests.imagefactory import encode, shapes_image

OWNER_TG = 8801
OWNER_DC = 330000000000000001
TRIGGER = "shapez"
CAPTION = "colourful shapes on a plain background"


@dataclass(frozen=True)
class Prepared:
    """Where the session's data lies and what is in it."""

    data_dir: Path
    dataset_id: int
    model_id: int
    job_id: int

    def copy_to(self, target: Path) -> Path:
        """A copy of the data for one test (the base models are shared, not copied)."""
        shutil.copytree(self.data_dir, target, ignore=shutil.ignore_patterns("base-models"))
        (target / "base-models").symlink_to(self.data_dir / "base-models", True)
        return target


class _Rpc:
    """The few calls the preparation makes, as the owner or as the operator."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http, self.url = http, url

    async def call(self, method: str, path: str, who: str | None = None, body: Any = None) -> Any:
        token = RPC_TOKEN if who or path.startswith("/v1/notif") else ADMIN_TOKEN
        headers = {"Authorization": f"Bearer {token}", **({"X-User": who} if who else {})}
        async with self.http.request(method, self.url + path, json=body, headers=headers) as r:
            assert r.status in (200, 201), f"{method} {path}: {r.status} {await r.text()}"
            return await r.json()


async def _seed(url: str) -> tuple[int, int, int]:
    tg, dc = f"telegram:{OWNER_TG}", f"discord:{OWNER_DC}"
    async with aiohttp.ClientSession() as http:
        rpc = _Rpc(http, url)
        account = (await rpc.call("GET", "/v1/me", tg))["id"]
        code = (await rpc.call("POST", "/v1/me/link-code", tg, {}))["code"]
        await rpc.call("POST", "/v1/me/link", dc, {"code": code})
        dataset = await rpc.call(
            "POST", "/v1/datasets", tg, {"name": "Shapes", "trigger_word": TRIGGER}
        )
        form = aiohttp.FormData()
        for i in range(4):
            picture = encode(shapes_image(64, 64, seed=40 + i), "PNG")
            form.add_field("image", picture, filename=f"s{i}.png")
        form.add_field("captions", f'{{"s0.png": "{CAPTION}"}}', content_type="application/json")
        headers = {"Authorization": f"Bearer {RPC_TOKEN}", "X-User": tg}
        upload = f"{url}/v1/datasets/{dataset['id']}/images"
        async with http.post(upload, data=form, headers=headers) as r:
            assert r.status in (200, 201), await r.text()
        body = {"dataset_id": dataset["id"], "offering_id": "tiny-lora", "preset": "fast"}
        cost = (await rpc.call("POST", "/v1/estimate", tg, body))["cost"]
        grant = {"amount": cost, "reason": "prepared", "idempotency_key": "prepared"}
        await rpc.call("POST", f"/admin/accounts/{account}/grant", None, grant)
        job = await rpc.call("POST", "/v1/jobs", tg, {**body, "idempotency_key": "prepared"})
        while job["status"] not in ("completed", "failed", "cancelled"):
            await asyncio.sleep(0.5)
            job = await rpc.call("GET", f"/v1/jobs/{job['id']}", tg)
        assert job["status"] == "completed", job
        for platform in ("telegram", "discord"):
            pending = await rpc.call("GET", f"/v1/notifications?platform={platform}&wait=0")
            ids = [n["id"] for n in pending["notifications"]]
            await rpc.call("POST", "/v1/notifications/ack", None, {"ids": ids})
        return dataset["id"], job["model_id"], job["id"]


def prepare(root: Path) -> Prepared:
    """Run a daemon on `root`, make the account, its dataset and its LoRA, stop the daemon."""
    env = {"LORABOT_RPC_TOKEN": RPC_TOKEN, "LORABOT_ADMIN_TOKEN": ADMIN_TOKEN, **CHECK_ANSWERS_ENV}
    with running_daemon(root, env=env, timeout=60) as daemon:
        dataset_id, model_id, job_id = asyncio.run(_seed(daemon.url))
    assert logged_mismatches(daemon.log_path) == []
    return Prepared(root, dataset_id, model_id, job_id)
