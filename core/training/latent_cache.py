"""On-disk cache of VAE latent distributions and text embeddings, shared across trainings."""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from core.training.buckets import Bucket


@dataclass
class CacheStats:
    """What the cache did during one preparation; a warm cache shows zero encodes."""

    vae_encodes: int = 0
    text_encodes: int = 0
    latent_hits: int = 0
    text_hits: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def content_hash(data: bytes) -> str:
    """Hash of an image file's bytes, the image part of a cache key."""
    return hashlib.sha256(data).hexdigest()[:32]


def _atomic_save(tensors: dict[str, torch.Tensor], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp))
    os.replace(tmp, path)


class LatentCache:
    """Latents keyed by (VAE identity, image hash, bucket); embeddings by (encoders, caption)."""

    def __init__(self, root: Path, vae_key: str, text_key: str, model_key: str = "") -> None:
        self.root = Path(root)
        self.vae_key = vae_key
        self.text_key = text_key
        self.model_key = model_key
        self.stats = CacheStats()

    def samples_folder(self) -> Path | None:
        """Where the base model's sample images are kept between trainings (None: no key)."""
        return self.root.parent / "samples" / self.model_key if self.model_key else None

    def latent_path(self, image_hash: str, bucket: Bucket) -> Path:
        return self.root / self.vae_key / f"{image_hash}-{bucket[0]}x{bucket[1]}.safetensors"

    def text_path(self, caption: str) -> Path:
        key = hashlib.sha256(caption.encode("utf-8")).hexdigest()[:32]
        return self.root / self.text_key / f"{key}.safetensors"

    def get_latent(self, image_hash: str, bucket: Bucket) -> dict[str, torch.Tensor] | None:
        """The cached `mean`/`std` of an image's latent distribution, if present."""
        path = self.latent_path(image_hash, bucket)
        if not path.is_file():
            return None
        self.stats.latent_hits += 1
        return load_file(str(path))

    def put_latent(
        self, image_hash: str, bucket: Bucket, tensors: dict[str, torch.Tensor]
    ) -> None:
        _atomic_save(tensors, self.latent_path(image_hash, bucket))

    def get_text(self, caption: str) -> dict[str, torch.Tensor] | None:
        """The cached `hidden` (and SDXL `pooled`) embedding of a caption, if present."""
        path = self.text_path(caption)
        if not path.is_file():
            return None
        self.stats.text_hits += 1
        return load_file(str(path))

    def put_text(self, caption: str, tensors: dict[str, torch.Tensor]) -> None:
        _atomic_save(tensors, self.text_path(caption))
