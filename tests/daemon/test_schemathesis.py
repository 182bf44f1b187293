"""Schemathesis over `/openapi.json`: every bot and admin operation, fed generated requests on
real HTTP, answers without a 5xx and within its documented statuses, media types and schemas.

One daemon (a real `create_app` on a temporary SQLite DATA_DIR, queue off) serves the whole
run from a thread; it is seeded with a dataset, a queued job and a completed job with a model,
and half of the valid requests aim at those records so handlers get past their 404s.
Generation is derandomized, so a run in CI is the same run every time.
"""

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.db.models import Job
from core.enums import JobStatus, NotificationKind
from core.models_registry import blob_prefix, register_model, store_files
from core.notifications import notify_job
from core.settings import Settings
from daemon.app import create_app
from daemon.keys import BLOBS, SESSIONMAKER
from tests.conftest import ADMIN_TOKEN, RPC_TOKEN
from tests.imagefactory import png_bytes

T = TypeVar("T")

# Per operation and generation mode; about 40 operations × 2 modes stay well under 2 minutes.
MAX_EXAMPLES = 25
USER = "telegram:31337"
BOT = {"Authorization": f"Bearer {RPC_TOKEN}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Served:
    """A daemon serving on 127.0.0.1 from its own thread and event loop."""

    app: web.Application
    url: str
    loop: asyncio.AbstractEventLoop

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the daemon's loop (where its engine lives)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)


@contextmanager
def serving(app: web.Application) -> Iterator[Served]:
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    host, port = runner.addresses[0][:2]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    served = Served(app, f"http://{host}:{port}", loop)
    try:
        yield served
    finally:
        served.run(runner.cleanup())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


@dataclass(frozen=True)
class Seeded:
    """Ids of the records the run starts with."""

    account_id: int
    dataset_id: int
    image_id: int
    queued_job_id: int
    model_id: int
    model_file: str

    def path_ids(self, path: str) -> dict[str, Any]:
        """Path parameters that reach a seeded record of this path, if there is one."""
        if path.startswith("/v1/datasets/"):
            return {"id": self.dataset_id, "image_id": self.image_id}
        if path.startswith(("/v1/jobs/", "/admin/jobs/")):
            return {"id": self.queued_job_id}
        if path.startswith("/v1/models/"):
            return {"id": self.model_id, "name": self.model_file}
        if path.startswith("/admin/accounts/"):
            return {"id": self.account_id}
        return {}


def _call(method: str, url: str, headers: dict[str, str], **kwargs: Any) -> dict[str, Any]:
    response = requests.request(method, url, headers=headers, timeout=30, **kwargs)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _submit(served: Served, dataset_id: int, key: str) -> int:
    body = {"dataset_id": dataset_id, "offering_id": "tiny-lora", "preset": "fast"}
    user = {**BOT, "X-User": USER}
    job = _call("POST", f"{served.url}/v1/jobs", user, json={**body, "idempotency_key": key})
    return job["id"]


def seed(served: Served, scratch: Path) -> Seeded:
    user = {**BOT, "X-User": USER}
    account = _call("GET", f"{served.url}/v1/me", user)
    grant = {"amount": 10_000, "reason": "schemathesis", "idempotency_key": "seed"}
    _call("POST", f"{served.url}/admin/accounts/{account['id']}/grant", ADMIN, json=grant)
    dataset = _call(
        "POST", f"{served.url}/v1/datasets", user, json={"name": "seed", "trigger_word": "zqx"}
    )
    files = [("image", (f"{i}.png", png_bytes(64, 64, seed=i), "image/png")) for i in range(4)]
    upload = _call("POST", f"{served.url}/v1/datasets/{dataset['id']}/images", user, files=files)
    assert len(upload["added"]) == 4, upload
    queued = _submit(served, dataset["id"], "seed-queued")
    done = _submit(served, dataset["id"], "seed-done")
    summary = scratch / "summary.json"
    summary.write_text('{"final_loss": 0.1}')
    model_id = served.run(_complete(served.app, done, summary))
    return Seeded(
        account["id"], dataset["id"], upload["added"][0]["id"], queued, model_id, summary.name
    )


async def _complete(app: web.Application, job_id: int, summary: Path) -> int:
    """Finish a job as a worker would: its files stored, its model registered, its user told."""
    async with app[SESSIONMAKER].begin() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        job.status = JobStatus.completed
        prefix = blob_prefix(job.id, 1)
        files = await store_files(app[BLOBS], prefix, {"summary": summary})
        model = await register_model(session, job, prefix=prefix, files=files, summary={})
        await notify_job(session, job, NotificationKind.job_completed, {"model_id": model.id})
        return model.id


@pytest.fixture
def daemon(make_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[Served]:
    # No rate limit: one acting person sends every request, and 429s would hide the handlers.
    app = create_app(make_settings(rate_limit_per_minute=0))
    with serving(app) as served:
        yield served


def headers_for(path: str) -> dict[str, str]:
    """Admin routes take the admin token; the notification channel the bare RPC token."""
    if path.startswith("/admin"):
        return ADMIN
    if path.startswith("/v1/notifications"):
        return BOT
    return {**BOT, "X-User": USER} if path.startswith("/v1/") else {}


def fixed_query(path: str) -> dict[str, Any] | None:
    # A long poll would only make the run slower: it waits for nothing.
    return {"wait": 0} if path == "/v1/notifications" else None


def aim_at(case: schemathesis.Case, seeded: Seeded) -> None:
    """Point a valid case at the seeded records (its other fields stay generated)."""
    ids = seeded.path_ids(case.operation.path)
    if case.path_parameters:
        case.path_parameters = {
            name: ids.get(name, value) for name, value in case.path_parameters.items()
        }
    if isinstance(case.body, dict) and "dataset_id" in case.body:
        # A real dataset, offering and preset: the overrides reach the price arithmetic.
        aimed = {"dataset_id": seeded.dataset_id, "offering_id": "tiny-lora", "preset": "fast"}
        case.body = {**case.body, **aimed}


def explore(operation: Any, mode: GenerationMode, seeded: Seeded) -> None:
    """Send generated requests for one operation and check every answer."""
    strategy = operation.as_strategy(
        generation_mode=mode,
        headers=headers_for(operation.path),
        query=fixed_query(operation.path),
    )

    @given(case=strategy, seeded_target=st.booleans())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        # Failures are reported as found: shrinking HTTP cases costs more than it explains.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case, seeded_target: bool) -> None:
        if seeded_target and mode is GenerationMode.POSITIVE:
            aim_at(case, seeded)
        case.call_and_validate(checks=CHECKS)

    run()


def _destructive_last(operation: Any) -> tuple[bool, bool, int]:
    # Cancels, then deletions (images before their dataset) run after everything that reads.
    path = operation.path
    return (
        path.endswith(("/cancel", "/requeue")) or operation.method.upper() == "DELETE",
        operation.method.upper() == "DELETE",
        -path.count("{"),
    )


def test_every_operation_keeps_to_its_schema(daemon: Served, tmp_path: Path) -> None:
    seeded = seed(daemon, tmp_path)
    schema = schemathesis.openapi.from_url(f"{daemon.url}/openapi.json")
    operations = sorted((r.ok() for r in schema.get_all_operations()), key=_destructive_last)
    assert len(operations) > 30
    # Collected, not raised at the first: one run names every failing operation.
    failures: list[str] = []
    for operation in operations:
        for mode in GenerationMode:
            try:
                explore(operation, mode, seeded)
            except Unsatisfiable:
                # Nothing to make invalid: no parameters or body besides the fixed headers.
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, FailureGroup) as exc:
                failures.append(f"{operation.label} [{mode}]: {exc}")
    assert not failures, "\n\n".join(failures)
