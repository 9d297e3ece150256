"""Gemma3: the template's `<start_of_image>` becomes
"\\n\\n<start_of_image>" + "<image_soft_token>" x image_seq_length + "<end_of_image>\\n\\n".

The surrounding "\\n\\n" can merge with the neighbouring text's newlines, so the collapsed expansion keeps
them and the text tokenizer sees the real boundaries. Pan-and-scan crops (off by default) add whole
extra sequences that depend on the image; those processors fall back to the real processor.
"""

from __future__ import annotations

from vlmtrain.encoding.expansion import Expansion, TokenRule


def placeholder(processor) -> str:
    return processor.boi_token


def unsupported(processor) -> str | None:
    if getattr(processor.image_processor, "do_pan_and_scan", False):
        return "pan-and-scan crops are on"
    return None


def expand(processor, width: int, height: int) -> Expansion:
    n = processor.image_seq_length
    soft = processor.tokenizer.image_token
    one = processor.full_image_sequence.replace(soft * n, soft)
    # boi + soft tokens + eoi are what the image occupies; the newlines around them are text
    return Expansion(text=one, extra=n - 1, image_tokens=n + 2)


RULE = TokenRule(unsupported=unsupported, expand=expand, placeholder=placeholder)
