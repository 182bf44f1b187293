"""Build a tiny BLIP captioner of the real transformers classes from configs, offline.

The folder it writes has the layout of a real BLIP checkpoint saved with `save_pretrained`
(`config.json`, `generation_config.json`, `model.safetensors`, the processor's and the
tokenizer's files), so the worker loads both through the same `from_pretrained` path. Its
weights are random: the captions are strings of real words, not descriptions.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import torch
from transformers import (
    BertTokenizer,
    BlipConfig,
    BlipForConditionalGeneration,
    BlipImageProcessorPil,
    BlipProcessor,
)

from core.captioning.vocab import CLS, DEC, ENC, MASK, PAD, SEP, UNK, vocabulary, write_vocab

HIDDEN = 32
IMAGE_SIZE = 32
PATCH_SIZE = 8
MAX_TEXT_TOKENS = 64
# With random weights the image reaches the text decoder only faintly through cross-attention,
# and every picture would get the same caption; scaling its value and output projections up
# lets different pictures lead to different words.
CROSS_ATTENTION_GAIN = 20.0
# A trained decoder learns when a caption is done; this one is nudged towards `[SEP]`, so it
# ends soon after the minimum length instead of running to the maximum.
SEP_LOGIT_BIAS = 0.5


def build_tokenizer(folder: Path) -> BertTokenizer:
    """A BERT tokenizer over the tiny vocabulary, with BLIP's `[DEC]` as its bos token."""
    return BertTokenizer(
        str(write_vocab(folder / "vocab.txt")),
        do_lower_case=True,
        unk_token=UNK,
        sep_token=SEP,
        pad_token=PAD,
        cls_token=CLS,
        mask_token=MASK,
        bos_token=DEC,
        additional_special_tokens=[ENC],
        model_max_length=MAX_TEXT_TOKENS,
    )


def _config(tokenizer: BertTokenizer) -> BlipConfig:
    ids = tokenizer.convert_tokens_to_ids
    text = {
        "vocab_size": len(vocabulary()),
        "hidden_size": HIDDEN,
        "intermediate_size": HIDDEN * 2,
        "projection_dim": HIDDEN,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "max_position_embeddings": MAX_TEXT_TOKENS,
        "bos_token_id": ids(DEC),
        "eos_token_id": ids(SEP),
        "pad_token_id": ids(PAD),
        "sep_token_id": ids(SEP),
    }
    vision = {
        "hidden_size": HIDDEN,
        "intermediate_size": HIDDEN * 2,
        "projection_dim": HIDDEN,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "image_size": IMAGE_SIZE,
        "patch_size": PATCH_SIZE,
        # BLIP's default (1e-10) suits loading trained weights; a random model needs more.
        "initializer_range": 0.02,
    }
    return BlipConfig(
        text_config=text,
        vision_config=vision,
        projection_dim=HIDDEN,
        image_text_hidden_size=HIDDEN,
    )


def _shape_random_weights(model: BlipForConditionalGeneration, sep_id: int) -> None:
    with torch.no_grad():
        for name, weight in model.named_parameters():
            if "crossattention" in name and name.endswith(("value.weight", "output.dense.weight")):
                weight.mul_(CROSS_ATTENTION_GAIN)
        model.text_decoder.cls.predictions.bias[sep_id] = SEP_LOGIT_BIAS


def build_tiny_captioner(out: Path, seed: int = 0) -> Path:
    """Build the tiny captioner and save it as a BLIP folder `from_pretrained` loads."""
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    out = Path(out)
    with tempfile.TemporaryDirectory() as scratch:
        tokenizer = build_tokenizer(Path(scratch))
        torch.manual_seed(seed)
        model = BlipForConditionalGeneration(_config(tokenizer)).eval()
    _shape_random_weights(model, tokenizer.sep_token_id)
    image_processor = BlipImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    processor = BlipProcessor(image_processor=image_processor, tokenizer=tokenizer)
    if out.exists():
        shutil.rmtree(out)
    model.save_pretrained(out, safe_serialization=True)
    processor.save_pretrained(out)
    return out
