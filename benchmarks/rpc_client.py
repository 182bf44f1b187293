"""What the RPC benchmarks share: one person's calls to a real `lorabot daemon`, and a funded
account with a small dataset to run them on."""

from typing import Any

import aiohttp

from daemon.demo_rpc import demo_image
from daemon.process import DaemonProcess

USER = "telegram:31337"


def headers(daemon: DaemonProcess, path: str) -> dict[str, str]:
    """The admin token for admin routes, else the RPC token, acting as `USER`."""
    token = daemon.admin_token if path.startswith("/admin") else daemon.rpc_token
    return {"Authorization": f"Bearer {token}", "X-User": USER}


async def call(
    http: aiohttp.ClientSession, daemon: DaemonProcess, method: str, path: str, **kwargs: Any
) -> Any:
    """One call; its JSON answer, or RuntimeError for an error status."""
    async with http.request(
        method, daemon.url + path, headers=headers(daemon, path), **kwargs
    ) as response:
        body = await response.json()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {body}")
        return body


async def funded_dataset(http: aiohttp.ClientSession, daemon: DaemonProcess, points: int) -> int:
    """Grant `USER` points and give them a 4-image dataset; returns the dataset id."""
    me = await call(http, daemon, "GET", "/v1/me")
    grant = {"amount": points, "reason": "benchmark", "idempotency_key": "bench-grant"}
    await call(http, daemon, "POST", f"/admin/accounts/{me['id']}/grant", json=grant)
    dataset = await call(http, daemon, "POST", "/v1/datasets", json={"name": "bench"})
    form = aiohttp.FormData()
    for i in range(4):
        form.add_field("image", demo_image(i), filename=f"{i}.png", content_type="image/png")
    await call(http, daemon, "POST", f"/v1/datasets/{dataset['id']}/images", data=form)
    return int(dataset["id"])
