"""PaliGemma: image_seq_length `<image>` tokens per image (256 at 224 px), fixed by the image processor.

The processor also rewrites the prompt (BOS after the last image, a trailing newline, the suffix as a
text pair), so the text side is not modelled here. The count does not depend on image size, so records
are counted by the family's own encode with 32x32 stand-in images (no pixel decoding of the real ones).
"""

from __future__ import annotations

from vlmtrain.encoding.expansion import Expansion, TokenRule, image_token_run


def unsupported(processor) -> str | None:
    return "the PaliGemma prompt rewrite (BOS, newline, suffix) is not modelled yet"


def expand(processor, width: int, height: int) -> Expansion:
    return image_token_run(processor, processor.image_seq_length)


RULE = TokenRule(unsupported=unsupported, expand=expand)
