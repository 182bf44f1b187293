"""The scaled-out deployment in one place: replicas on PostgreSQL, the Ray cluster and the S3
store, from the fixtures of their own suites."""

from tests.captioning.conftest import shared_captioner
from tests.queue.conftest import shared_base_models
from tests.ray.conftest import ray_cluster, worker_data_dir
from tests.replicas.conftest import http, replica_database

# Fixtures of other suites, used here.
__all__ = [
    "http",
    "ray_cluster",
    "replica_database",
    "shared_base_models",
    "shared_captioner",
    "worker_data_dir",
]
