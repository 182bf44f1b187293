"""SQL statements each hot RPC route runs, counted on an in-process daemon (SQLite).

Wall-clock figures on a shared 2-core machine swing by a third between identical runs; the
statement count of a route does not, so a change that adds work to a hot path shows here
first. Run it on two checkouts side by side to compare.

Usage: python benchmarks/bench_statements.py
"""

import asyncio
import sys
import tempfile
import uuid
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.settings import Settings  # noqa: E402
from daemon.app import create_app  # noqa: E402
from daemon.demo_rpc import demo_image  # noqa: E402
from daemon.keys import ENGINE  # noqa: E402

USER = {"Authorization": "Bearer rpc", "X-User": "telegram:31337"}
ADMIN = {"Authorization": "Bearer admin"}


async def funded_dataset(client: TestClient) -> int:
    """A granted account with a 4-image dataset; returns the dataset id."""
    me = await (await client.get("/v1/me", headers=USER)).json()
    grant = {"amount": 10**9, "reason": "benchmark", "idempotency_key": "bench"}
    await client.post(f"/admin/accounts/{me['id']}/grant", json=grant, headers=ADMIN)
    dataset = await (await client.post("/v1/datasets", json={"name": "b"}, headers=USER)).json()
    form = aiohttp.FormData()
    for i in range(4):
        form.add_field("image", demo_image(i), filename=f"{i}.png", content_type="image/png")
    await client.post(f"/v1/datasets/{dataset['id']}/images", data=form, headers=USER)
    return int(dataset["id"])


async def main() -> None:
    settings = Settings(
        data_dir=Path(tempfile.mkdtemp()),
        rpc_token="rpc",
        admin_token="admin",
        run_queue=False,
        rate_limit_per_minute=0,
        log_level="WARNING",
    )
    app = create_app(settings)
    async with TestClient(TestServer(app)) as client:
        dataset_id = await funded_dataset(client)
        counted = [0]

        def count(*_: object) -> None:
            counted[0] += 1

        event.listen(app[ENGINE].sync_engine, "before_cursor_execute", count)
        body = {"dataset_id": dataset_id, "offering_id": "tiny-lora", "preset": "fast"}
        routes = {
            "GET /v1/me": lambda: client.get("/v1/me", headers=USER),
            "POST /v1/estimate": lambda: client.post("/v1/estimate", json=body, headers=USER),
            "POST /v1/jobs": lambda: client.post(
                "/v1/jobs", json={**body, "idempotency_key": uuid.uuid4().hex}, headers=USER
            ),
        }
        for name, send in routes.items():
            await send()  # the first call may create rows; count a steady one
            counted[0] = 0
            response = await send()
            if response.status >= 300:
                raise RuntimeError(f"{name}: {response.status} {await response.text()}")
            print(f"{name:<20} {counted[0]:3d} statements")


if __name__ == "__main__":
    asyncio.run(main())
