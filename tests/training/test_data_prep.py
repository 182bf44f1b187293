"""Tokenizer vocabulary, buckets and batch order."""

from __future__ import annotations

from pathlib import Path

from core.training.buckets import bucket_step, make_buckets, nearest_bucket
from core.training.data import BatchOrder
from core.training.tokenizer_vocab import write_clip_tokenizer_files


def test_clip_vocabulary_matches_the_real_tokenizer(tmp_path: Path) -> None:
    from transformers import CLIPTokenizer

    write_clip_tokenizer_files(tmp_path)
    tokenizer = CLIPTokenizer.from_pretrained(tmp_path)
    # Ids of the released openai/clip-vit-large-patch14 tokenizer.
    assert tokenizer("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert len(tokenizer) == 49408


def test_buckets_keep_area_and_granularity() -> None:
    step = bucket_step(vae_scale_factor=8, unet_levels=4)
    assert step == 64
    buckets = make_buckets(512, step)
    assert (512, 512) in buckets
    for width, height in buckets:
        assert width % step == 0 and height % step == 0
        assert width * height <= 512 * 512
        assert max(width, height) / min(width, height) <= 2.0
    wide = nearest_bucket(1600, 900, buckets)
    assert wide[0] > wide[1]
    assert nearest_bucket(700, 700, buckets) == (512, 512)


def test_batch_order_is_deterministic_and_bucket_pure() -> None:
    buckets = [(32, 32), (40, 32), (32, 32), (40, 32), (32, 32)]
    order = BatchOrder(buckets, batch_size=2, seed=3)
    again = BatchOrder(buckets, batch_size=2, seed=3)
    steps = range(3 * order.per_epoch)
    assert [order.batch(s) for s in steps] == [again.batch(s) for s in steps]
    for s in steps:
        assert len({buckets[i] for i in order.batch(s)}) == 1
    epoch = sorted(i for batch in order.epoch(0) for i in batch)
    assert epoch == list(range(len(buckets)))
