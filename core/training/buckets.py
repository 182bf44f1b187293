"""Aspect-ratio bucketing: keep each image's shape at about resolution² pixels."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

Bucket = tuple[int, int]  # (width, height)


def bucket_step(vae_scale_factor: int, unet_levels: int) -> int:
    """Side granularity: one latent pixel per UNet downsampling level, at least 8 px."""
    return max(8, vae_scale_factor * 2 ** max(0, unet_levels - 1))


def make_buckets(resolution: int, step: int, max_ratio: float = 2.0) -> list[Bucket]:
    """Buckets of sides multiple of `step`, area <= resolution², aspect within max_ratio."""
    area = resolution * resolution
    base = max(step, resolution // step * step)
    buckets = {(base, base)}
    width = step
    while width <= resolution * max_ratio:
        height = (area // width) // step * step
        if height >= step and max(width / height, height / width) <= max_ratio:
            buckets.add((width, height))
            buckets.add((height, width))
        width += step
    return sorted(buckets)


def nearest_bucket(width: int, height: int, buckets: list[Bucket]) -> Bucket:
    """The bucket whose aspect ratio is closest, preferring the larger area on ties."""
    ratio = width / height
    return min(buckets, key=lambda b: (abs(b[0] / b[1] - ratio), -b[0] * b[1]))


@dataclass(frozen=True)
class Fitted:
    """An image resized and centre-cropped to its bucket, with SDXL's size conditioning."""

    image: Image.Image
    original_size: tuple[int, int]  # (height, width)
    crop_top_left: tuple[int, int]  # (top, left)


def fit_to_bucket(image: Image.Image, bucket: Bucket) -> Fitted:
    """Resize so the image covers the bucket, then centre-crop to it."""
    width, height = bucket
    scale = max(width / image.width, height / image.height)
    resized_w = max(width, round(image.width * scale))
    resized_h = max(height, round(image.height * scale))
    resized = image.convert("RGB").resize((resized_w, resized_h), Image.Resampling.LANCZOS)
    left = (resized_w - width) // 2
    top = (resized_h - height) // 2
    cropped = resized.crop((left, top, left + width, top + height))
    return Fitted(cropped, (image.height, image.width), (top, left))
