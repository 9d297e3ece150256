"""Idefics3 and SmolVLM: image splitting into a rows x cols grid of tiles plus one global image.

Each tile is `<fake_token_around_image><row_r_col_c>` + `<image>` x image_seq_len; rows end in "\\n";
the global image is "\\n<fake_token_around_image><global-img>" + `<image>` x image_seq_len +
"<fake_token_around_image>". Without splitting (or for images that fit one tile) only the global part.
The grid mirrors the image processor's real steps (not its `get_number_of_image_patches` shortcut):
    1. resize so the longest edge is size["longest_edge"] (up or down), capped at 4096
    2. if splitting: round both sides up to multiples of max_image_size["longest_edge"] (M)
    3. rows = (h - M) // M + 1, cols = (w - M) // M + 1 when either side exceeds M, else no split
"""

from __future__ import annotations

import copy
import functools
import math

from vlmtrain.encoding.expansion import Expansion, TokenRule, size_get

MAX_IMAGE_SIZE = 4096  # transformers' absolute cap for Idefics3/SmolVLM


def unsupported(processor) -> str | None:
    ip = processor.image_processor
    if getattr(ip, "do_resize", True) and size_get(ip.size, "longest_edge") is None:
        return "image processor size has no longest_edge"
    return None


def _rescale_to_max_len(height: int, width: int, max_len: int) -> tuple[int, int]:
    aspect_ratio = width / height
    if width >= height:
        width = max_len
        height = int(width / aspect_ratio)
        if height % 2 != 0:
            height += 1
    else:
        height = max_len
        width = int(height * aspect_ratio)
        if width % 2 != 0:
            width += 1
    return max(height, 1), max(width, 1)


def _scale_below(height: int, width: int, max_len: int) -> tuple[int, int]:
    aspect_ratio = width / height
    if width >= height and width > max_len:
        width = max_len
        height = int(width / aspect_ratio)
    elif height > width and height > max_len:
        height = max_len
        width = int(height * aspect_ratio)
    return max(height, 1), max(width, 1)


def grid(processor, width: int, height: int) -> tuple[int, int]:
    """(rows, cols) of split tiles; (0, 0) when the image is not split."""
    ip = processor.image_processor
    if getattr(ip, "do_resize", True):
        height, width = _rescale_to_max_len(height, width, size_get(ip.size, "longest_edge"))
        height, width = _scale_below(height, width, MAX_IMAGE_SIZE)
    if not getattr(ip, "do_image_splitting", False):
        return 0, 0
    m = size_get(ip.max_image_size, "longest_edge")
    aspect_ratio = width / height
    if width >= height:
        width = math.ceil(width / m) * m
        height = math.ceil(int(width / aspect_ratio) / m) * m
    else:
        height = math.ceil(height / m) * m
        width = math.ceil(int(height * aspect_ratio) / m) * m
    if height > m or width > m:
        return (height - m) // m + 1, (width - m) // m + 1
    return 0, 0


@functools.lru_cache(maxsize=64)
def _collapsed(processor, rows: int, cols: int) -> str:
    # The processor's own expansion string with image_seq_len 1: every run becomes one <image>.
    one = copy.copy(processor)
    one.image_seq_len = 1
    return one.replace_image_token({"rows": [[rows]], "cols": [[cols]]}, 0)


def expand(processor, width: int, height: int) -> Expansion:
    rows, cols = grid(processor, width, height)
    tiles = rows * cols + 1
    seq = processor.image_seq_len
    text = _collapsed(processor, rows, cols)
    # tokens the image occupies: per tile the wrapper + tag + seq; the global image closes with one more
    return Expansion(text=text, extra=tiles * (seq - 1), image_tokens=tiles * (seq + 2) + 1)


RULE = TokenRule(unsupported=unsupported, expand=expand)
