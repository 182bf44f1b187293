"""A bucket of its own on the test S3 server (scripts/seaweedfs.sh), and the settings that
point a daemon at it; each user of the bucket takes a prefix of its own inside it."""

import os
import uuid
from dataclasses import dataclass
from typing import Any

S3_ENV = "LORABOT_TEST_S3_URL"
# The test identity of scripts/seaweedfs.sh (the same variables override both).
ACCESS_KEY = os.environ.get("LORABOT_TEST_S3_KEY", "lorabot-test")
SECRET_KEY = os.environ.get("LORABOT_TEST_S3_SECRET", "lorabot-test-secret")


@dataclass(frozen=True)
class S3Bucket:
    """A bucket on the test server."""

    endpoint_url: str
    name: str

    def settings_fields(self, prefix: str | None = None) -> dict[str, Any]:
        """The Settings fields of a daemon whose blobs live under a fresh prefix."""
        return {
            "blobs_url": f"s3://{self.name}/{prefix or uuid.uuid4().hex[:12]}",
            "s3_endpoint_url": self.endpoint_url,
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SECRET_KEY,
        }

    def _client(self) -> Any:
        from aiobotocore.session import get_session  # the optional extra, only when used

        return get_session().create_client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    async def create(self) -> None:
        """Create the bucket (the daemon never does: an operator's bucket has its policies)."""
        async with self._client() as client:
            await client.create_bucket(Bucket=self.name)

    async def names(self, prefix: str = "") -> list[str]:
        """Every object name in the bucket under `prefix`."""
        async with self._client() as client:
            paginator = client.get_paginator("list_objects_v2")
            found = []
            async for page in paginator.paginate(Bucket=self.name, Prefix=prefix):
                found.extend(item["Key"] for item in page.get("Contents", []))
            return found

    async def remove(self) -> None:
        """Delete every object, then the bucket."""
        names = await self.names()
        async with self._client() as client:
            for name in names:
                await client.delete_object(Bucket=self.name, Key=name)
            await client.delete_bucket(Bucket=self.name)
