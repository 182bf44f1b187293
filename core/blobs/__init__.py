"""Blob storage: one interface (`BlobStore`), a local folder by default or an S3 bucket.

`open_blob_store` picks the backend from the `blobs_url` setting; the S3 one (and botocore)
is imported only when that setting names it.
"""

from core.blobs.base import (
    KEY_PATTERN,
    BlobInfo,
    BlobStore,
    StagedBlob,
    check_key,
    sha256_hex,
)
from core.blobs.local import LocalBlobStore
from core.settings import Settings

__all__ = [
    "KEY_PATTERN",
    "BlobInfo",
    "BlobStore",
    "LocalBlobStore",
    "StagedBlob",
    "check_key",
    "open_blob_store",
    "sha256_hex",
]


async def open_blob_store(settings: Settings) -> BlobStore:
    """The blob store the settings name: DATA_DIR/blobs, or `s3://bucket/prefix`."""
    url = settings.blobs_url.strip()
    if not url or url.startswith("file:"):
        return LocalBlobStore(settings.blobs_dir)
    if not url.startswith("s3://"):
        raise ValueError(f"LORABOT_BLOBS_URL must be empty, file: or s3://..., not {url!r}")
    from core.blobs.s3 import S3BlobStore, S3Credentials, S3Location

    secret = settings.s3_secret_access_key
    credentials = S3Credentials(
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret else None,
    )
    return await S3BlobStore.open(
        S3Location.parse(url), credentials, settings.data_dir / "tmp" / "blob-staging"
    )
