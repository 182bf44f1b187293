"""`lorabot demo`: start a daemon and walk through the product over its RPC, step by step."""

import asyncio
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from daemon.demo_rpc import Rpc, RpcError, demo_image
from daemon.process import running_daemon

DEMO_USER = "telegram:demo-alice"
DEMO_GRANT = 100
FINAL_STATUSES = ("completed", "failed", "cancelled")
POLL_SECONDS = 0.5


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
    model: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    captions: dict[str, Any] = field(default_factory=dict)
    sheet: Path | None = None


class ScriptedRun:
    """The demo's steps, one method each, so a later step (wait for the model) can be added."""

    def __init__(
        self, rpc: Rpc, console: Console, user: str = DEMO_USER, output: Path | None = None
    ) -> None:
        self.rpc = rpc
        self.console = console
        self.user = user
        self.output = output or Path("var") / "demo-output"
        self.state = DemoState()
        # Names and keys of this run, so the demo can run again on the same DATA_DIR.
        self.run_id = uuid.uuid4().hex[:6]

    def step(self, title: str, detail: str) -> None:
        """Print one finished step."""
        self.console.print(f"[bold green]✓[/] [bold]{title}[/] — {detail}")

    async def run(self) -> DemoState:
        """Every step: account → grant → dataset → upload → captions → estimate → job → train →
        results → generate → strength sheet → notifications → ledger."""
        await self.account()
        await self.grant()
        await self.dataset()
        await self.upload()
        await self.captions()
        await self.estimate()
        await self.submit()
        await self.train()
        await self.results()
        await self.generate()
        await self.strength_sheet()
        await self.notifications()
        await self.ledger()
        return self.state

    async def account(self) -> None:
        _, me = await self.rpc.call("GET", "/v1/me", user=self.user)
        self.state.account_id = me["id"]
        self.step("Account", f"{self.user} is account #{me['id']} with {me['balance']} points")

    async def grant(self) -> None:
        body = {"amount": DEMO_GRANT, "reason": "demo", "idempotency_key": f"demo-{self.run_id}"}
        path = f"/admin/accounts/{self.state.account_id}/grant"
        for _ in range(2):  # the repeat shows the idempotency key at work
            _, answer = await self.rpc.call("POST", path, admin=True, json=body)
        self.state.balance = answer["balance"]
        self.step("Admin grant", f"+{DEMO_GRANT} sent twice, applied once: {answer['balance']}")

    async def dataset(self) -> None:
        name = f"demo circles {self.run_id}"
        body = {"name": name, "trigger_word": "zqxcircle", "description": "demo"}
        _, dataset = await self.rpc.call("POST", "/v1/datasets", user=self.user, json=body)
        self.state.dataset_id = dataset["id"]
        self.step("Dataset", f"#{dataset['id']} {dataset['name']!r}")

    async def upload(self) -> None:
        # No captions: the caption job writes them.
        form = aiohttp.FormData()
        for seed in range(6):
            name = f"circle{seed}.png"
            form.add_field("image", demo_image(seed), filename=name, content_type="image/png")
        form.add_field("image", demo_image(0), filename="again.png", content_type="image/png")
        form.add_field("image", b"not an image", filename="notes.txt", content_type="text/plain")
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
            "idempotency_key": f"demo-job-{self.run_id}",
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

    async def follow(self, job_id: int, label: str) -> dict[str, Any]:
        """Show a job's progress with a bar until it ends; the final job."""
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[note]}"),
        )
        with Progress(*columns, TimeElapsedColumn(), console=self.console) as bar:
            task = bar.add_task(label, total=None, note="queued")
            while True:
                _, job = await self.rpc.call("GET", f"/v1/jobs/{job_id}", user=self.user)
                progress = job["progress"]
                loss = f"loss {progress['loss']:.4f}" if progress["loss"] is not None else ""
                bar.update(
                    task,
                    description=f"{label} #{job_id} {job['status']}",
                    completed=progress["step"],
                    total=progress["total_steps"] or None,
                    note=f"{progress['step']}/{progress['total_steps']} {loss}",
                )
                if job["status"] in FINAL_STATUSES:
                    break
                await asyncio.sleep(POLL_SECONDS)
        if job["status"] != "completed":
            raise RuntimeError(f"{label} #{job_id} ended {job['status']}: {job['error']}")
        return job

    async def download(self, url: str, target: Path) -> Path:
        """Save one file the daemon serves."""
        target.parent.mkdir(parents=True, exist_ok=True)
        async with self.rpc.session.get(
            self.rpc.daemon.url + url, headers=self.rpc.headers(self.user)
        ) as response:
            if response.status != 200:
                raise RpcError(response.status, await response.text())
            target.write_bytes(await response.read())
        return target.resolve()

    async def captions(self) -> None:
        """Caption the uncaptioned images automatically, then show what was written."""
        path = f"/v1/datasets/{self.state.dataset_id}/captions"
        body: dict[str, Any] = {"images": "uncaptioned", "style": "sentence"}
        _, quote = await self.rpc.call("POST", f"{path}/estimate", user=self.user, json=body)
        if not quote["ok"]:
            raise RuntimeError(f"captions refused: {quote['errors']}")
        body |= {
            "idempotency_key": f"demo-captions-{self.run_id}",
            "quote_id": quote["quote"]["id"],
        }
        _, job = await self.rpc.call("POST", path, user=self.user, json=body)
        job = await self.follow(job["id"], "captions")
        self.state.captions = job
        _, images = await self.rpc.call(
            "GET", f"/v1/datasets/{self.state.dataset_id}/images", user=self.user
        )
        table = Table("image", "caption")
        for image in images["images"]:
            table.add_row(image["filename"], image["caption"])
        self.step(
            "Captions",
            f"job #{job['id']}: {job['result']['written']} written for {job['cost']} points "
            "(a tiny random captioner: real captions need a real BLIP folder)",
        )
        self.console.print(table)

    async def train(self) -> None:
        """Follow the training until it ends."""
        job = await self.follow(self.state.job["id"], "training")
        self.state.job = job
        self.step("Training", f"job #{job['id']} completed in {job['attempts']} attempt(s)")

    async def results(self) -> None:
        """Download every file of the model and show where they are."""
        path = f"/v1/models/{self.state.job['model_id']}"
        _, model = await self.rpc.call("GET", path, user=self.user)
        self.state.model = model
        folder = self.output / f"model-{model['id']}"
        folder.mkdir(parents=True, exist_ok=True)
        table = Table("role", "file", "bytes")
        saved_steps = [f["step"] for f in model["files"] if f["role"] == "checkpoint"]
        for item in model["files"]:
            if item["role"] == "checkpoint":
                continue  # downloadable too; the demo names them below
            saved = await self.download(item["url"], folder / item["name"])
            self.state.files[item["name"]] = saved
            table.add_row(item["role"], item["name"], f"{item['size']:,}")
        self.step(
            "Model",
            f"#{model['id']} trigger word {model['trigger_word']!r}; checkpoints saved at "
            f"steps {saved_steps}",
        )
        self.console.print(table)
        for name, saved in self.state.files.items():
            self.console.print(f"  {name}: {saved}", soft_wrap=True)

    async def _generation(self, label: str, **request: Any) -> dict[str, Any]:
        """Price, confirm and follow one generation with the trained LoRA."""
        model = self.state.model
        body = {
            "model_id": model["id"],
            "prompt": f"a photo of {model['trigger_word']}",
            "seed": 7,
        }
        body |= request
        _, priced = await self.rpc.call(
            "POST", "/v1/generations/estimate", user=self.user, json=body
        )
        if not priced["ok"]:
            raise RuntimeError(f"{label} refused: {priced['errors']}")
        body |= {
            "idempotency_key": f"demo-{label}-{self.run_id}",
            "quote_id": priced["quote"]["id"],
        }
        _, generation = await self.rpc.call("POST", "/v1/generations", user=self.user, json=body)
        await self.follow(generation["id"], label)
        _, generation = await self.rpc.call(
            "GET", f"/v1/generations/{generation['id']}", user=self.user
        )
        return generation

    async def _save_generation(self, generation: dict[str, Any], name: str) -> Path:
        folder = self.output / f"generation-{generation['id']}"
        return await self.download(
            f"/v1/generations/{generation['id']}/files/{name}", folder / name
        )

    async def generate(self) -> None:
        """Two images with the LoRA, seeds 7 and 8."""
        generation = await self._generation("generation", count=2)
        paths = [await self._save_generation(generation, i["name"]) for i in generation["images"]]
        self.step(
            "Generation",
            f"#{generation['id']}: {len(paths)} images for {generation['cost']} points, "
            f"prompt {generation['prompt']!r}",
        )
        for saved in paths:
            self.console.print(f"  {saved}", soft_wrap=True)

    async def strength_sheet(self) -> None:
        """The same prompt and seed at several LoRA strengths, as one picture."""
        strengths = [0.0, 0.4, 0.7, 1.0, 1.2]
        generation = await self._generation("strength sheet", strengths=strengths)
        sheet = await self._save_generation(generation, generation["sheet"]["name"])
        self.state.sheet = sheet
        self.step(
            "Strength sheet",
            f"#{generation['id']}: strengths {strengths} for {generation['cost']} points",
        )
        self.console.print(f"  strength sheet: {sheet}", soft_wrap=True)

    async def notifications(self) -> None:
        """Fetch and acknowledge what a bot would deliver to the user."""
        path = "/v1/notifications?platform=telegram&wait=5"
        _, answer = await self.rpc.call("GET", path)
        ids = [n["id"] for n in answer["notifications"]]
        await self.rpc.call("POST", "/v1/notifications/ack", json={"ids": ids})
        kinds = ", ".join(n["kind"] for n in answer["notifications"]) or "none"
        self.step("Notifications", f"{kinds} (acknowledged)")

    async def ledger(self) -> None:
        """The account's ledger; its sum is the balance."""
        _, answer = await self.rpc.call("GET", "/v1/ledger", user=self.user)
        _, me = await self.rpc.call("GET", "/v1/me", user=self.user)
        table = Table("id", "kind", "delta", "reference")
        for entry in answer["entries"]:
            table.add_row(
                str(entry["id"]), entry["kind"], f"{entry['delta']:+d}", entry["reference"] or ""
            )
        self.step("Ledger", f"balance {me['balance']} = sum of {len(answer['entries'])} entries")
        self.console.print(table)


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
                    output = (Path(data_dir) if data_dir else Path("var")) / "demo-output"
                    await ScriptedRun(Rpc(session, daemon), console, output=output).run()
        except (RpcError, RuntimeError, aiohttp.ClientError) as exc:
            console.print(f"[bold red]demo failed:[/] {exc}")
            return 1
    console.print("[bold green]demo finished[/]")
    return 0
