"""Ray fixtures: one real local cluster per session (a head and two worker nodes, see
`tests.ray.cluster`), the worker hosts' DATA_DIR holding the tiny base model and captioner,
and daemons (`create_app`) whose executor is the Ray one."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from core.settings import Settings
from daemon.app import create_app
from tests.captioning.conftest import shared_captioner
from tests.queue.conftest import shared_base_models

__all__ = ["shared_base_models", "shared_captioner"]  # fixtures of other suites, used here

pytest.importorskip("ray", reason="the Ray executor needs the lorabot[ray] extra")

from tests.ray.cluster import RESOURCE, RayCluster  # noqa: E402  (imports Ray's CLI path)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """A head (no resources) and two worker nodes with one `lorabot_gpu` each."""
    cluster = RayCluster.start(workers=2)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def worker_data_dir(
    tmp_path_factory: pytest.TempPathFactory, shared_base_models: Path, shared_captioner: Path
) -> Path:
    """The worker hosts' own DATA_DIR (shared here by both nodes): base models, caches."""
    data_dir = tmp_path_factory.mktemp("ray-worker-data")
    link_models(data_dir, shared_base_models, shared_captioner)
    return data_dir


def link_models(data_dir: Path, *folders: Path) -> None:
    """DATA_DIR/base-models holding a link to each model of the shared `base-models` folders."""
    models = data_dir / "base-models"
    models.mkdir(parents=True, exist_ok=True)
    for folder in folders:
        for model in folder.iterdir():
            if not (models / model.name).exists():
                (models / model.name).symlink_to(model, target_is_directory=True)


@pytest.fixture
def ray_settings(
    make_settings: Callable[..., Settings],
    ray_cluster: RayCluster,
    worker_data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Settings]:
    """Settings of a daemon that dispatches to the cluster; keyword arguments override."""
    # One thread per worker: the tiny models are faster so on a small shared CPU.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")

    def build(**overrides: Any) -> Settings:
        fields: dict[str, Any] = {
            "run_queue": True,
            "executor": "ray",
            "ray_address": ray_cluster.address,
            "ray_resource": RESOURCE,
            "ray_slots": 2,
            "ray_worker_data_dir": worker_data_dir,
            "lease_seconds": 20.0,
            "rate_limit_per_minute": 0,  # the tests poll progress closely
        }
        return make_settings(**{**fields, **overrides})

    return build


async def serve_on_ray(
    aiohttp_client: Any, settings: Settings, shared_base_models: Path, shared_captioner: Path
) -> TestClient:
    """A daemon on `settings` whose own DATA_DIR knows the base models (its offerings list
    them as available) but whose workers run on the cluster."""
    link_models(settings.data_dir, shared_base_models, shared_captioner)
    return await aiohttp_client(create_app(settings))
