"""What one image becomes in the token stream, and helpers the per-family token rules share.

A family's header rule (`Family.expand_image`, implemented in `families/<name>/tokens.py`) says what
replaces the template's image placeholder in a *text-only* tokenization, with each run of the repeated
image token collapsed to a single token, and how many tokens the collapsed runs stand for:

    Qwen2-VL, 640x480:  Expansion(text="<|image_pad|>", extra=299, image_tokens=300)
    Idefics3, 2x2 split: Expansion(text="<fake..><row_1_col_1><image>...<global-img><image><fake..>",
                                   extra=5 * 168, image_tokens=5 * 169)

so that  len(tokenize(text with expansions)) + sum(extra)  ==  len(processor(...)["input_ids"]) exactly,
boundary merges included (Gemma3's "\\n\\n" around the image merge with neighbouring newlines).

A family's `tokens.py` hands its rule to the family contract as one `TokenRule` (see there), e.g.

    RULE = TokenRule(unsupported=unsupported, expand=expand)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Expansion:
    text: str  # replaces the placeholder in the text-only tokenization (image-token runs collapsed to one)
    extra: int  # tokens the collapsed runs stand for beyond the one token each keeps
    image_tokens: int  # tokens the image occupies in input_ids (its whole expansion)


def image_token_run(processor, n: int) -> Expansion:
    """An image that becomes one run of `n` image tokens, no delimiters (Qwen2-VL, LLaVA, PaliGemma)."""
    return Expansion(text=processor.image_token, extra=n - 1, image_tokens=n)


def image_token_placeholder(processor) -> str:
    """The default placeholder: the chat template writes `processor.image_token` for each image."""
    return processor.image_token


def text_unchanged(processor, text: str) -> str:
    """The default rewrite: the processor leaves the text around expanded images as it is."""
    return text


def any_size_taken(processor, width: int, height: int) -> str | None:
    """The default refusal: the image processor takes an image of any size."""
    return None


def always_counted(processor) -> str | None:
    """An `unsupported` for a rule no processor setting defeats (a fixed count per image)."""
    return None


@dataclass(frozen=True)
class TokenRule:
    """A family's header rule: token counts from image sizes alone, equal to the real processor's.

    A family's `tokens.py` defines `RULE = TokenRule(...)` from its own functions (module-level ones, so
    the family stays picklable); the `Family` contract delegates to it (`count_unsupported`,
    `expand_image`, `expand_images`, `image_placeholder`, `rewrite_expanded`, `image_refusal`):

        unsupported(processor) -> str | None      why the rule cannot count for this processor (None: it can)
        expand(processor, width, height) -> Expansion   one image (ValueError: the processor refuses it)
        expand_all(processor, [(w, h), ...]) -> [Expansion, ...]   all of one record's images, in order,
                           where an image's count depends on the others (LLaVA-OneVision); None: each
                           image is expanded on its own by `expand`
        placeholder(processor) -> str             what the chat template writes for one image
        rewrite(processor, text) -> str           the processor's rewrite of the text around expanded
                           images (Idefics2)
        refusal(processor, width, height) -> str | None   why the image processor would raise on an image
    """

    unsupported: Callable[[Any], str | None]
    expand: Callable[[Any, int, int], Expansion]
    expand_all: Callable[[Any, list[tuple[int, int]]], list[Expansion]] | None = None
    placeholder: Callable[[Any], str] = image_token_placeholder
    rewrite: Callable[[Any, str], str] = text_unchanged
    refusal: Callable[[Any, int, int], str | None] = any_size_taken

    def expand_record(self, processor, sizes: list[tuple[int, int]]) -> list[Expansion]:
        """One record's images ((width, height) each, in order) -> their expansions."""
        if self.expand_all is not None:
            return self.expand_all(processor, sizes)
        return [self.expand(processor, w, h) for w, h in sizes]


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
