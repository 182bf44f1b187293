"""A tiny FLUX.1-shaped pipeline of the real classes, built offline from configs.

The tokenizers are real ones too: CLIP gets the project's offline BPE vocabulary and T5 a small
Unigram (SentencePiece-style) model built with the `tokenizers` library, so the saved folder
loads through `FluxPipeline.from_pretrained` exactly as a FLUX.1 checkpoint does.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import torch
from diffusers import (
    AutoencoderKL,
    FlowMatchEulerDiscreteScheduler,
    FluxPipeline,
    FluxTransformer2DModel,
)
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTokenizer,
    T5Config,
    T5EncoderModel,
    T5TokenizerFast,
)

from core.training.tokenizer_vocab import write_clip_tokenizer_files

_CLIP_HIDDEN = 16
_T5_DIM = 32
# FLUX.1's VAE: 16 latent channels, no quant convs, and these latent shift/scale factors.
_VAE_SHIFT, _VAE_SCALE = 0.1159, 0.3611
_T5_SPECIAL = ("<pad>", "</s>", "<unk>")  # T5's ids 0, 1, 2
# FLUX.1-dev reads 512 T5 tokens; the tiny model 64 (the pipeline caps at the tokenizer length).
_T5_TOKENS = 64


def t5_tokenizer() -> T5TokenizerFast:
    """A T5 tokenizer over a small Unigram vocabulary: T5's special ids, ▁-prefixed pieces."""
    symbols = string.ascii_letters + string.digits + string.punctuation
    pieces = [(token, 0.0) for token in _T5_SPECIAL] + [("▁", -2.0)]
    pieces += [("▁" + c, -4.0) for c in symbols] + [(c, -5.0) for c in symbols]
    tokenizer = Tokenizer(models.Unigram(pieces, unk_id=2, byte_fallback=False))
    tokenizer.normalizer = normalizers.Replace(Regex(" {2,}"), " ")
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    return T5TokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        extra_ids=0,
        model_max_length=_T5_TOKENS,
    )


def _clip() -> CLIPTextModel:
    return CLIPTextModel(
        CLIPTextConfig(
            vocab_size=49408, hidden_size=_CLIP_HIDDEN, intermediate_size=_CLIP_HIDDEN * 4,
            num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=77,
            hidden_act="quick_gelu", bos_token_id=49406, eos_token_id=49407, pad_token_id=49407,
        )
    )  # fmt: skip


def _t5(vocab_size: int) -> T5EncoderModel:
    # T5 v1.1 (FLUX's text_encoder_2): gated-GELU feed-forward, untied embeddings.
    return T5EncoderModel(
        T5Config(
            vocab_size=vocab_size, d_model=_T5_DIM, d_kv=8, d_ff=_T5_DIM * 2, num_layers=2,
            num_heads=4, relative_attention_num_buckets=8, feed_forward_proj="gated-gelu",
            is_encoder_decoder=False, use_cache=False, tie_word_embeddings=False,
        )
    )  # fmt: skip


def _vae() -> AutoencoderKL:
    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=16,
        down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
        block_out_channels=(8, 16, 16), layers_per_block=1, norm_num_groups=8, sample_size=32,
        scaling_factor=_VAE_SCALE, shift_factor=_VAE_SHIFT,
        use_quant_conv=False, use_post_quant_conv=False,
    )  # fmt: skip


def _transformer() -> FluxTransformer2DModel:
    # FLUX.1-dev's layout (double then single blocks, guidance embedding) at a tiny width.
    return FluxTransformer2DModel(
        patch_size=1, in_channels=64, num_layers=2, num_single_layers=2, attention_head_dim=8,
        num_attention_heads=2, joint_attention_dim=_T5_DIM, pooled_projection_dim=_CLIP_HIDDEN,
        guidance_embeds=True, axes_dims_rope=(2, 2, 4),
    )  # fmt: skip


def _scheduler() -> FlowMatchEulerDiscreteScheduler:
    # FLUX.1-dev's scheduler config: resolution-dependent shift of the sigmas.
    return FlowMatchEulerDiscreteScheduler(
        num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=True, base_shift=0.5,
        max_shift=1.15, base_image_seq_len=256, max_image_seq_len=4096,
    )  # fmt: skip


def build_tiny_flux(out: Path, seed: int = 0) -> Path:
    """Build the tiny FLUX pipeline and save it as a diffusers folder."""
    out = Path(out)
    torch.manual_seed(seed)
    source = out / "_tokenizer_src"
    write_clip_tokenizer_files(source)
    clip_tokenizer = CLIPTokenizer.from_pretrained(source, model_max_length=77)
    t5 = t5_tokenizer()
    pipe: Any = FluxPipeline(
        scheduler=_scheduler(), vae=_vae(), text_encoder=_clip(), tokenizer=clip_tokenizer,
        text_encoder_2=_t5(len(t5)), tokenizer_2=t5, transformer=_transformer(),
    )  # fmt: skip
    pipe.save_pretrained(out, safe_serialization=True)
    for path in source.iterdir():
        path.unlink()
    source.rmdir()
    return out
