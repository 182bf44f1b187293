"""Turn captions into the UNet's conditioning, for SD-1.5 (one encoder) and SDXL (two)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class TextEncoders:
    """The pipeline's tokenizers and text encoders, in SDXL order when there are two."""

    tokenizers: list[Any]
    encoders: list[Any]

    @classmethod
    def from_pipeline(cls, pipe: Any) -> TextEncoders:
        """Collect the text components of a pipeline."""
        tokenizers = [pipe.tokenizer]
        encoders = [pipe.text_encoder]
        if getattr(pipe, "text_encoder_2", None) is not None:
            tokenizers.append(pipe.tokenizer_2)
            encoders.append(pipe.text_encoder_2)
        return cls(tokenizers, encoders)

    @property
    def is_sdxl(self) -> bool:
        return len(self.encoders) == 2

    def tokenize(self, captions: list[str]) -> list[torch.Tensor]:
        """Token ids per tokenizer, padded to the model length: a list of [n, 77] tensors."""
        return [
            tok(
                captions,
                padding="max_length",
                max_length=tok.model_max_length,
                truncation=True,
                return_tensors="pt",
            ).input_ids
            for tok in self.tokenizers
        ]

    def encode_ids(self, ids: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Hidden states (and SDXL's pooled embedding) for tokenized captions."""
        if not self.is_sdxl:
            encoder = self.encoders[0]
            hidden = encoder(ids[0].to(encoder.device), return_dict=False)[0]
            return hidden, None
        hiddens: list[torch.Tensor] = []
        pooled: torch.Tensor | None = None
        for encoder, token_ids in zip(self.encoders, ids, strict=True):
            out = encoder(token_ids.to(encoder.device), output_hidden_states=True)
            pooled = out[0]  # the projected pooled output of the last encoder is what SDXL uses
            hiddens.append(out.hidden_states[-2])
        return torch.cat(hiddens, dim=-1), pooled

    @torch.no_grad()
    def encode(self, captions: list[str]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Frozen encoding of captions, for the cache and for sampling."""
        return self.encode_ids(self.tokenize(captions))
