"""`lorabot demo`: start a daemon and walk through the product over its RPC, step by step."""

import io
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from PIL import Image, ImageDraw
from rich.console import Console
from rich.table import Table

from daemon.process import DaemonProcess, running_daemon

DEMO_USER = "telegram:demo-alice"
DEMO_GRANT = 100


class RpcError(RuntimeError):
    """The daemon answered with an unexpected status."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {json.dumps(body)[:500]}")
        self.status = status
        self.body = body


class Rpc:
    """A small JSON client of the daemon (bots have their own in `bots/common`)."""

    def __init__(self, session: aiohttp.ClientSession, daemon: DaemonProcess) -> None:
        self.session = session
        self.daemon = daemon

    def headers(self, user: str | None = None, *, admin: bool = False) -> dict[str, str]:
        """Bearer token (RPC or admin) and the acting user."""
        token = self.daemon.admin_token if admin else self.daemon.rpc_token
        headers = {"Authorization": f"Bearer {token}"}
        if user:
            headers["X-User"] = user
        return headers

    async def call(
        self,
        method: str,
        path: str,
        *,
        user: str | None = None,
        admin: bool = False,
        expect: tuple[int, ...] = (200, 201),
        **kwargs: Any,
    ) -> tuple[int, Any]:
        """Send one request; an unexpected status raises RpcError."""
        async with self.session.request(
            method, self.daemon.url + path, headers=self.headers(user, admin=admin), **kwargs
        ) as response:
            body = await response.json()
            if response.status not in expect:
                raise RpcError(response.status, body)
            return response.status, body


def demo_image(seed: int, size: int = 96) -> bytes:
    """A PNG of a red circle on a coloured ground; each seed differs."""
    image = Image.new("RGB", (size, size), (40 + 20 * seed % 200, 120, 200 - 15 * seed % 150))
    inset = 10 + 3 * seed
    ImageDraw.Draw(image).ellipse((inset, inset, size - inset, size - inset), fill=(220, 30, 30))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@dataclass
class DemoState:
    """What the scripted run created, for later steps (and extensions) to use."""

    account_id: int = 0
    balance: int = 0
    dataset_id: int = 0
    added: list[dict[str, Any]] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    estimate: dict[str, Any] = field(default_factory=dict)
    job: dict[str, Any] = field(default_factory=dict)


class ScriptedRun:
    """The demo's steps, one method each, so a later step (wait for the model) can be added."""

    def __init__(self, rpc: Rpc, console: Console, user: str = DEMO_USER) -> None:
        self.rpc = rpc
        self.console = console
        self.user = user
        self.state = DemoState()

    def step(self, title: str, detail: str) -> None:
        """Print one finished step."""
        self.console.print(f"[bold green]✓[/] [bold]{title}[/] — {detail}")

    async def run(self) -> DemoState:
        """Every step in order: account → grant → dataset → upload → estimate → job."""
        await self.account()
        await self.grant()
        await self.dataset()
        await self.upload()
        await self.estimate()
        await self.submit()
        return self.state

    async def account(self) -> None:
        _, me = await self.rpc.call("GET", "/v1/me", user=self.user)
        self.state.account_id = me["id"]
        self.step("Account", f"{self.user} is account #{me['id']} with {me['balance']} points")

    async def grant(self) -> None:
        body = {"amount": DEMO_GRANT, "reason": "demo", "idempotency_key": "demo-welcome"}
        path = f"/admin/accounts/{self.state.account_id}/grant"
        for _ in range(2):  # the repeat shows the idempotency key at work
            _, answer = await self.rpc.call("POST", path, admin=True, json=body)
        self.state.balance = answer["balance"]
        self.step("Admin grant", f"+{DEMO_GRANT} sent twice, applied once: {answer['balance']}")

    async def dataset(self) -> None:
        body = {"name": "demo circles", "trigger_word": "zqxcircle", "description": "demo"}
        _, dataset = await self.rpc.call("POST", "/v1/datasets", user=self.user, json=body)
        self.state.dataset_id = dataset["id"]
        self.step("Dataset", f"#{dataset['id']} {dataset['name']!r}")

    async def upload(self) -> None:
        form = aiohttp.FormData()
        captions = {}
        for seed in range(6):
            name = f"circle{seed}.png"
            form.add_field("image", demo_image(seed), filename=name, content_type="image/png")
            captions[name] = "a red circle"
        form.add_field("image", demo_image(0), filename="again.png", content_type="image/png")
        form.add_field("image", b"not an image", filename="notes.txt", content_type="text/plain")
        form.add_field("captions", json.dumps(captions), content_type="application/json")
        path = f"/v1/datasets/{self.state.dataset_id}/images"
        _, answer = await self.rpc.call("POST", path, user=self.user, data=form)
        self.state.added, self.state.refused = answer["added"], answer["refused"]
        table = Table("file", "result")
        for item in answer["added"]:
            table.add_row(item["filename"], f"added {item['width']}×{item['height']}")
        for item in answer["refused"]:
            table.add_row(item["filename"], f"[red]refused[/] {item['code']}: {item['message']}")
        self.step("Upload", f"{len(answer['added'])} added, {len(answer['refused'])} refused")
        self.console.print(table)

    async def estimate(self) -> None:
        body = {"dataset_id": self.state.dataset_id, "offering_id": "tiny-lora", "preset": "fast"}
        _, answer = await self.rpc.call("POST", "/v1/estimate", user=self.user, json=body)
        self.state.estimate = answer
        notes = ", ".join(w["code"] for w in answer["warnings"]) or "no warnings"
        self.step(
            "Estimate",
            f"tiny-lora/fast: {answer['cost']} points, ~{answer['estimated_seconds']}s, "
            f"ok={answer['ok']} ({notes})",
        )

    async def submit(self) -> None:
        body = {
            "dataset_id": self.state.dataset_id,
            "offering_id": "tiny-lora",
            "preset": "fast",
            "idempotency_key": "demo-job-1",
        }
        _, job = await self.rpc.call("POST", "/v1/jobs", user=self.user, json=body)
        self.state.job = job
        _, me = await self.rpc.call("GET", "/v1/me", user=self.user)
        self.state.balance = me["balance"]
        self.step(
            "Job",
            f"#{job['id']} {job['status']} (queue position {job['queue_position']}), "
            f"{job['cost']} points debited, balance {me['balance']}",
        )


async def main(data_dir: Path | None = None, port: int = 0) -> int:
    """Run the demo against a fresh daemon; 0 when every step worked."""
    console = Console()
    with tempfile.TemporaryDirectory(prefix="lorabot-demo-") as scratch:
        root = Path(data_dir) if data_dir else Path(scratch)
        console.print(f"[bold]lorabot demo[/] — starting a daemon on {root}")
        try:
            with running_daemon(root, port=port) as daemon:
                console.print(f"daemon at {daemon.url} (log: {daemon.log_path})")
                async with aiohttp.ClientSession() as session:
                    await ScriptedRun(Rpc(session, daemon), console).run()
        except (RpcError, RuntimeError, aiohttp.ClientError) as exc:
            console.print(f"[bold red]demo failed:[/] {exc}")
            return 1
    console.print("[bold green]demo finished[/]")
    return 0
