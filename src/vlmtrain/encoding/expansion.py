"""What one image becomes in the token stream, and helpers the per-family token rules share.

A family's header rule (`Family.expand_image`, implemented in `families/<name>/tokens.py`) says what
replaces the template's image placeholder in a *text-only* tokenization, with each run of the repeated
image token collapsed to a single token, and how many tokens the collapsed runs stand for:

    Qwen2-VL, 640x480:  Expansion(text="<|image_pad|>", extra=299, image_tokens=300)
    Idefics3, 2x2 split: Expansion(text="<fake..><row_1_col_1><image>...<global-img><image><fake..>",
                                   extra=5 * 168, image_tokens=5 * 169)

so that  len(tokenize(text with expansions)) + sum(extra)  ==  len(processor(...)["input_ids"]) exactly,
boundary merges included (Gemma3's "\\n\\n" around the image merge with neighbouring newlines).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Expansion:
    text: str  # replaces the placeholder in the text-only tokenization (image-token runs collapsed to one)
    extra: int  # tokens the collapsed runs stand for beyond the one token each keeps
    image_tokens: int  # tokens the image occupies in input_ids (its whole expansion)


def processor_attr(processor, name: str, default=None):
    """A setting from the processor or, failing that, its image processor (configs put them in either)."""
    for owner in (processor, getattr(processor, "image_processor", None)):
        value = getattr(owner, name, None) if owner is not None else None
        if value is not None:
            return value
    return default


def size_get(size, key: str):
    """Read `key` from a size that may be a dict or a transformers SizeDict."""
    if size is None:
        return None
    if isinstance(size, dict):
        return size.get(key)
    return getattr(size, key, None)
