"""Idefics2: every image is `<fake_token_around_image>` + `<image>` x image_seq_len (the perceiver's
64 latents) + `<fake_token_around_image>`, five times over with image splitting (4 crops + the image),
whatever the image's size. `Idefics2Processor.__call__` then rewrites the text around images, which the
count does too (`rewrite`):
    1. "<fake><fake>" -> "<fake>"  (adjacent images, and the crops of one image, share a delimiter)
    2. a closing "<fake>" followed by anything but whitespace or "<" gets a space after it
    HuggingFaceM4/idefics2-8b (splitting on, 64 latents): 5 * 64 + 6 = 326 tokens per image; 66 without.
Splitting crops at width // 2 and height // 2: an image under 2 px high (PIL backend) or under 2 px on
either side (torchvision backend) gives empty crops and the image processor raises.
"""

from __future__ import annotations

import re

from vlmtrain.encoding.expansion import Expansion, TokenRule

FAKE = "<fake_token_around_image>"


def unsupported(processor) -> str | None:
    if processor.image_token != "<image>" or processor.fake_image_token != FAKE:
        return f"unexpected image tokens {processor.image_token!r} / {processor.fake_image_token!r}"
    return None


def _splits(processor) -> bool:
    return bool(processor.image_processor.do_image_splitting)


def image_string(processor, image_seq_len: int) -> str:
    """What one image placeholder becomes before the rewrite (the processor's own construction)."""
    one = f"{processor.fake_image_token}{processor.image_token * image_seq_len}{processor.fake_image_token}"
    return one * 5 if _splits(processor) else one


def rewrite(processor, text: str) -> str:
    """`Idefics2Processor.__call__`'s rewrite of the expanded text, step for step."""
    fake = processor.fake_image_token
    text = text.replace(f"{fake}{fake}", fake)
    return re.sub(rf"{re.escape(fake)}(?=[^\s<])", f"{fake} ", text)


def refusal(processor, width: int, height: int) -> str | None:
    """Why the image processor would raise on this image (None: it takes it)."""
    if not _splits(processor):
        return None
    from transformers.models.idefics2.image_processing_pil_idefics2 import Idefics2ImageProcessorPil

    if isinstance(processor.image_processor, Idefics2ImageProcessorPil):
        small = height < 2
    else:  # the torchvision backend fails on an empty crop in either direction
        small = height < 2 or width < 2
    if small:
        return (
            f"image is {width}x{height} px; Idefics2's image splitting halves each side, so it needs at "
            "least 2 px on each side (pad or drop the image, or set do_image_splitting: false)"
        )
    return None


def expand(processor, width: int, height: int) -> Expansion:
    why = refusal(processor, width, height)
    if why:
        raise ValueError(why)
    seq = processor.image_seq_len
    tiles = 5 if _splits(processor) else 1
    text = rewrite(processor, image_string(processor, 1))
    # tiles runs of `seq` image tokens and tiles + 1 delimiters (the crops share theirs)
    return Expansion(text=text, extra=tiles * (seq - 1), image_tokens=tiles * seq + tiles + 1)


RULE = TokenRule(unsupported=unsupported, expand=expand, rewrite=rewrite, refusal=refusal)
