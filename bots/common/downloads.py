"""Files the bots refuse before downloading them: over the platform's download limit."""

from bots.common import care_texts
from core.enums import RefusalCode
from daemon.schemas import RefusedImage

MB = 1024 * 1024
# The Bot API's getFile serves files up to 20 MB (https://core.telegram.org/bots/api#getfile).
TELEGRAM_DOWNLOAD_LIMIT = 20 * MB


def _mb(size: int) -> str:
    return f"{size / MB:.1f}".removesuffix(".0")


def too_large(filename: str, size: int, limit: int, platform: str) -> RefusedImage | None:
    """The refusal of a file of `size` bytes over `limit`, or None when it may be fetched."""
    if size <= limit:
        return None
    message = care_texts.TOO_LARGE_TO_DOWNLOAD.format(
        size=_mb(size), platform=platform, max=_mb(limit)
    )
    return RefusedImage(filename=filename, code=RefusalCode.file_too_large, message=message)
