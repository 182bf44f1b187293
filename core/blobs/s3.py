"""Blobs in an S3-compatible object store (AWS S3, MinIO, SeaweedFS), through aiobotocore.

`s3://bucket/prefix` names where they go: a blob's key is its object's name after the prefix.
An object becomes visible whole when its PUT (or, for a large file, the completion of its
multipart upload) succeeds, so a reader never sees half a blob. Imported only when the
`blobs_url` setting names S3: the daemon with local blobs never loads botocore.
"""

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from core.blobs.base import CHUNK_BYTES, KEY_PATTERN, BlobInfo, BlobStore, StagedBlob, check_key

# Files larger than this go up in parts (S3 refuses one PUT above 5 GB, and a part in memory
# at a time keeps a large LoRA out of the daemon's memory).
MULTIPART_THRESHOLD = 64 * 1024 * 1024
PART_BYTES = 16 * 1024 * 1024
_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}


@dataclass(frozen=True)
class S3Location:
    """A bucket and the key prefix inside it, from an `s3://bucket/prefix` URL."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> "S3Location":
        """Read `s3://bucket[/prefix]` (ValueError for anything else)."""
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"not an s3://bucket/prefix URL: {url!r}")
        prefix = parts.path.strip("/")
        return cls(bucket=parts.netloc, prefix=f"{prefix}/" if prefix else "")


@dataclass(frozen=True)
class S3Credentials:
    """Where the S3 API answers and who signs the requests (None: botocore's own chain)."""

    endpoint_url: str | None
    region: str
    access_key_id: str | None
    secret_access_key: str | None


class S3BlobStore(BlobStore):
    """Objects of one bucket under one prefix; `open` it, `aclose` it."""

    def __init__(self, location: S3Location, client: Any, stack: AsyncExitStack, staging: Path):
        super().__init__(staging)
        self.location = location
        self._client = client
        self._stack = stack

    @classmethod
    async def open(
        cls, location: S3Location, credentials: S3Credentials, staging_dir: Path
    ) -> "S3BlobStore":
        """Connect a client (the bucket must exist; nothing is sent until the first call)."""
        stack = AsyncExitStack()
        client = await stack.enter_async_context(
            get_session().create_client(
                "s3",
                endpoint_url=credentials.endpoint_url,
                region_name=credentials.region,
                aws_access_key_id=credentials.access_key_id,
                aws_secret_access_key=credentials.secret_access_key,
                config=AioConfig(retries={"max_attempts": 3, "mode": "standard"}),
            )
        )
        return cls(location, client, stack, staging_dir)

    async def aclose(self) -> None:
        await self._stack.aclose()

    def _name(self, key: str) -> str:
        return self.location.prefix + check_key(key)

    async def exists(self, key: str) -> bool:
        try:
            await self._head(key)
        except FileNotFoundError:
            return False
        return True

    async def size(self, key: str) -> int:
        return int((await self._head(key))["ContentLength"])

    async def read_bytes(self, key: str) -> bytes:
        async with await self._get(key) as body:
            return bytes(await body.read())

    async def chunks(self, key: str) -> AsyncIterator[bytes]:
        async with await self._get(key) as body:
            while chunk := await body.read(CHUNK_BYTES):
                yield chunk

    async def publish(self, staged: StagedBlob) -> bool:
        try:
            if await self.exists(staged.key):
                return False
            await self._upload(staged.temp_path, self._name(staged.key))
            return True
        finally:
            staged.temp_path.unlink(missing_ok=True)

    async def put_file(self, key_prefix: str, name: str, src_path: Path) -> str:
        key = check_key(f"{key_prefix}/{name}")
        await self._upload(Path(src_path), self._name(key))
        return key

    async def fetch_to(self, key: str, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=dest.parent, prefix=".fetch-")
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in self.chunks(key):
                    await asyncio.to_thread(out.write, chunk)
            os.replace(temp, dest)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return dest

    async def delete(self, key: str) -> bool:
        if not await self.exists(key):
            return False
        await self._client.delete_object(Bucket=self.location.bucket, Key=self._name(key))
        return True

    async def listing(self, namespace: str) -> list[BlobInfo]:
        start = self.location.prefix + check_key(namespace) + "/"
        found = []
        paginator = self._client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.location.bucket, Prefix=start):
            for item in page.get("Contents", []):
                key = item["Key"][len(self.location.prefix) :]
                if KEY_PATTERN.fullmatch(key):  # objects this store did not write stay unseen
                    modified = item["LastModified"].timestamp()
                    found.append(BlobInfo(key=key, size=int(item["Size"]), modified=modified))
        return sorted(found, key=lambda info: info.key)

    async def _head(self, key: str) -> dict[str, Any]:
        try:
            return await self._client.head_object(Bucket=self.location.bucket, Key=self._name(key))
        except ClientError as exc:
            raise _missing_or(exc, key) from None

    async def _get(self, key: str) -> Any:
        try:
            answer = await self._client.get_object(
                Bucket=self.location.bucket, Key=self._name(key)
            )
        except ClientError as exc:
            raise _missing_or(exc, key) from None
        return answer["Body"]

    async def _upload(self, path: Path, name: str) -> None:
        size = path.stat().st_size
        if size <= MULTIPART_THRESHOLD:
            data = await asyncio.to_thread(path.read_bytes)
            await self._client.put_object(Bucket=self.location.bucket, Key=name, Body=data)
            return
        await self._upload_parts(path, name)

    async def _upload_parts(self, path: Path, name: str) -> None:
        bucket = self.location.bucket
        upload = await self._client.create_multipart_upload(Bucket=bucket, Key=name)
        upload_id = upload["UploadId"]
        parts = []
        try:
            with path.open("rb") as handle:
                while data := await asyncio.to_thread(handle.read, PART_BYTES):
                    number = len(parts) + 1
                    answer = await self._client.upload_part(
                        Bucket=bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=data
                    )
                    parts.append({"PartNumber": number, "ETag": answer["ETag"]})
            await self._client.complete_multipart_upload(
                Bucket=bucket, Key=name, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            # Never completed, so never visible; aborting frees the parts already sent.
            await self._client.abort_multipart_upload(Bucket=bucket, Key=name, UploadId=upload_id)
            raise


def _missing_or(exc: ClientError, key: str) -> Exception:
    """FileNotFoundError for a missing object (as the local folder says it), else the error."""
    if str(exc.response.get("Error", {}).get("Code")) in _MISSING_CODES:
        return FileNotFoundError(f"no blob {key!r}")
    return exc
