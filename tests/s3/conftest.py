"""The S3 suites: a daemon on the test bucket reuses the queue suites' tiny base model."""

from tests.queue.conftest import shared_base_models

__all__ = ["shared_base_models"]  # a fixture of the queue suites, used here too
