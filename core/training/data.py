"""Dataset preparation: bucketing, cached VAE latents and text embeddings, batch order."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from core.training.buckets import Bucket, Fitted, fit_to_bucket, make_buckets, nearest_bucket
from core.training.latent_cache import LatentCache, content_hash
from core.training.text_encoding import TextEncoders

_VAE_CHUNK = 4


@dataclass(frozen=True)
class TrainingImage:
    """One training image and its caption (the trigger word is added by the trainer)."""

    path: Path
    caption: str = ""


@dataclass
class PreparedData:
    """Everything the loop reads per step, already in memory."""

    means: list[torch.Tensor]
    stds: list[torch.Tensor]
    buckets: list[Bucket]
    caption_index: list[int]
    captions: list[str]  # captions[0] is the empty prompt, used by caption dropout
    time_ids: list[torch.Tensor]  # SDXL size conditioning per sample; empty for SD-1.5
    hidden: torch.Tensor | None  # [n_captions, 77, D] when the text encoder is frozen
    pooled: torch.Tensor | None  # SDXL pooled embeddings, [n_captions, D2]
    token_ids: list[torch.Tensor]  # per tokenizer, [n_captions, 77]

    def __len__(self) -> int:
        return len(self.means)


def _to_pixels(fitted: list[Fitted]) -> torch.Tensor:
    arrays = np.stack([np.asarray(f.image, dtype=np.float32) for f in fitted])
    return torch.from_numpy(arrays).permute(0, 3, 1, 2).div(127.5).sub(1.0)


@torch.no_grad()
def _encode_latents(vae: Any, fitted: list[Fitted], cache: LatentCache) -> list[dict]:
    out: list[dict] = []
    for start in range(0, len(fitted), _VAE_CHUNK):
        chunk = fitted[start : start + _VAE_CHUNK]
        pixels = _to_pixels(chunk).to(vae.device, vae.dtype)
        dist = vae.encode(pixels).latent_dist
        cache.stats.vae_encodes += len(chunk)
        out.extend(
            {"mean": dist.mean[i].float().cpu(), "std": dist.std[i].float().cpu()}
            for i in range(len(chunk))
        )
    return out


def _load_latents(
    images: list[TrainingImage], buckets: list[Bucket], vae: Any, cache: LatentCache
) -> tuple[list[dict], list[torch.Tensor]]:
    """Latent distributions (cached or freshly encoded per bucket) and SDXL time ids."""
    latents: list[dict | None] = []
    time_ids: list[torch.Tensor] = []
    missing: dict[Bucket, list[tuple[int, str, Fitted]]] = defaultdict(list)
    for index, image in enumerate(images):
        data = Path(image.path).read_bytes()
        digest = content_hash(data)
        with Image.open(image.path) as pil:
            size = (pil.height, pil.width)
            cached = cache.get_latent(digest, buckets[index])
            if cached is None:
                fitted = fit_to_bucket(pil, buckets[index])
                missing[buckets[index]].append((index, digest, fitted))
        latents.append(cached)
        top, left = _crop_of(size, buckets[index])
        time_ids.append(torch.tensor([*size, top, left, buckets[index][1], buckets[index][0]]))
    for bucket, entries in missing.items():
        encoded = _encode_latents(vae, [e[2] for e in entries], cache)
        for (index, digest, _), tensors in zip(entries, encoded, strict=True):
            cache.put_latent(digest, bucket, tensors)
            latents[index] = tensors
    return [lat for lat in latents if lat is not None], time_ids


def _crop_of(size: tuple[int, int], bucket: Bucket) -> tuple[int, int]:
    height, width = size
    scale = max(bucket[0] / width, bucket[1] / height)
    resized_w = max(bucket[0], round(width * scale))
    resized_h = max(bucket[1], round(height * scale))
    return (resized_h - bucket[1]) // 2, (resized_w - bucket[0]) // 2


def _text_embeddings(
    captions: list[str], text: TextEncoders, cache: LatentCache
) -> tuple[torch.Tensor, torch.Tensor | None]:
    cached = [cache.get_text(c) for c in captions]
    missing = [i for i, entry in enumerate(cached) if entry is None]
    if missing:
        hidden, pooled = text.encode([captions[i] for i in missing])
        cache.stats.text_encodes += len(missing)
        for row, i in enumerate(missing):
            entry = {"hidden": hidden[row].float().cpu()}
            if pooled is not None:
                entry["pooled"] = pooled[row].float().cpu()
            cache.put_text(captions[i], entry)
            cached[i] = entry
    entries = [e for e in cached if e is not None]
    pooled_all = torch.stack([e["pooled"] for e in entries]) if "pooled" in entries[0] else None
    return torch.stack([e["hidden"] for e in entries]), pooled_all


def image_buckets(images: list[TrainingImage], resolution: int, step: int) -> list[Bucket]:
    """The bucket of each image, from its size alone (no decoding of pixels)."""
    options = make_buckets(resolution, step)
    sizes = []
    for image in images:
        with Image.open(image.path) as pil:
            sizes.append(pil.size)
    return [nearest_bucket(w, h, options) for w, h in sizes]


def prepare_data(
    images: list[TrainingImage],
    captions: list[str],
    buckets: list[Bucket],
    pipe: Any,
    cache: LatentCache,
    cache_text: bool,
) -> PreparedData:
    """Latents and text conditioning for every image, from the cache wherever possible."""
    latents, time_ids = _load_latents(images, buckets, pipe.vae, cache)
    unique = ["", *sorted(set(captions) - {""})]
    text = TextEncoders.from_pipeline(pipe)
    hidden, pooled = _text_embeddings(unique, text, cache) if cache_text else (None, None)
    return PreparedData(
        means=[lat["mean"] for lat in latents],
        stds=[lat["std"] for lat in latents],
        buckets=buckets,
        caption_index=[unique.index(c) for c in captions],
        captions=unique,
        time_ids=time_ids if getattr(pipe, "text_encoder_2", None) is not None else [],
        hidden=hidden,
        pooled=pooled,
        token_ids=text.tokenize(unique),
    )


class BatchOrder:
    """Deterministic batches per step: same-bucket batches, reshuffled each epoch."""

    def __init__(self, buckets: list[Bucket], batch_size: int, seed: int) -> None:
        self.seed = seed
        self.batch_size = batch_size
        self.groups: dict[Bucket, list[int]] = defaultdict(list)
        for index, bucket in enumerate(buckets):
            self.groups[bucket].append(index)
        self.per_epoch = sum(-(-len(g) // batch_size) for g in self.groups.values())

    def epoch(self, epoch: int) -> list[list[int]]:
        """All batches of one epoch, in training order."""
        gen = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        batches: list[list[int]] = []
        for bucket in sorted(self.groups):
            group = self.groups[bucket]
            order = [group[i] for i in torch.randperm(len(group), generator=gen).tolist()]
            batches += [
                order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)
            ]
        return [batches[i] for i in torch.randperm(len(batches), generator=gen).tolist()]

    def batch(self, step: int) -> list[int]:
        """The sample indices trained on at a 0-based step."""
        epoch, position = divmod(step, self.per_epoch)
        return self.epoch(epoch)[position]
