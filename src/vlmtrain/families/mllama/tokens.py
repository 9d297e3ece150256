"""Mllama (Llama 3.2 Vision): one `<|image|>` token per image; the image enters through cross-attention,
so the sequence length does not depend on the image size at all."""

from __future__ import annotations

from vlmtrain.encoding.expansion import Expansion, TokenRule


def unsupported(processor) -> str | None:
    return None


def expand(processor, width: int, height: int) -> Expansion:
    return Expansion(text=processor.image_token, extra=0, image_tokens=1)


RULE = TokenRule(unsupported=unsupported, expand=expand)
