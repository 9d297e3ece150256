"""Per-family expansion rules against the real processors, over grids and random image sizes, with the
torchvision-backed and the PIL image processors (`image_backend`, conftest.py)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from vlmtrain.families import resolve_family
from vlmtrain.families.idefics3 import tokens as idefics3_tokens
from vlmtrain.tokens import image_token_count


def budget(n: int):
    # derandomized: CI sees the same sizes every run; the processors are slow, so a few dozen examples
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )


def real_image_tokens(processor, width, height) -> int:
    token = processor.image_token
    text = f"{token}\nhi"
    out = processor(text=[text], images=[Image.new("RGB", (width, height))])
    return list(out["input_ids"][0]).count(processor.image_token_id)


def test_granite_known_counts(granite):
    # the numbers the real Granite Vision processor gives (FACTS.md)
    assert image_token_count("llava_next", granite, 384, 384) == 1485
    assert image_token_count("llava_next", granite, 640, 480) == 2929


GRANITE_GRID = [
    (384, 384),
    (640, 480),
    (480, 640),
    (1, 1),
    (14, 14),
    (383, 385),
    (768, 384),
    (384, 768),
    (1000, 100),
    (100, 1000),
    (3840, 384),
    (384, 3840),
    (1152, 1152),
    (1920, 1080),
    (1080, 1920),
    (333, 777),
    (2049, 511),
    (5000, 300),
]


@pytest.mark.parametrize("size", GRANITE_GRID, ids=lambda s: f"{s[0]}x{s[1]}")
def test_granite_rule_equals_processor_grid(granite, size):
    assert image_token_count("llava_next", granite, *size) == real_image_tokens(granite, *size)


@budget(25)
@given(w=st.integers(1, 2000), h=st.integers(1, 2000))
def test_granite_rule_equals_processor_random(granite, w, h):
    assert image_token_count("llava_next", granite, w, h) == real_image_tokens(granite, w, h)


QWEN_CONFIGS = [
    dict(min_pixels=56 * 56, max_pixels=28 * 28 * 1280),  # Qwen2-VL default
    dict(min_pixels=28 * 28, max_pixels=56 * 56),  # the tiny model's
    dict(min_pixels=256 * 28 * 28, max_pixels=512 * 28 * 28),  # a common fine-tuning setting
]


class _Proc:
    """Just enough of a processor for rules that only read the image processor."""

    def __init__(self, image_processor, **attrs):
        self.image_processor = image_processor
        self.__dict__.update(attrs)


@budget(40)
@given(cfg=st.sampled_from(QWEN_CONFIGS), w=st.integers(1, 1500), h=st.integers(1, 1500))
def test_qwen_rule_equals_image_processor(image_processor_class, cfg, w, h):
    ip = image_processor_class("Qwen2VLImageProcessor")(**cfg)
    if max(w, h) / min(w, h) > 200:
        with pytest.raises(ValueError):
            ip(images=[Image.new("RGB", (w, h))])
        with pytest.raises(ValueError):
            image_token_count("qwen2_vl", _Proc(ip, image_token="<|image_pad|>"), w, h)
        return
    grid = ip(images=[Image.new("RGB", (w, h))])["image_grid_thw"][0].tolist()
    assert (
        image_token_count("qwen2_vl", _Proc(ip, image_token="<|image_pad|>"), w, h)
        == grid[0] * grid[1] * grid[2] // 4
    )


@budget(40)
@given(
    cfg=st.sampled_from([(True, 96, 32), (True, 128, 48), (False, 64, 32), (True, 4 * 364, 364)]),
    w=st.integers(1, 900),
    h=st.integers(1, 900),
)
def test_idefics3_grid_equals_image_processor(image_processor_class, cfg, w, h):
    splitting, longest, tile = cfg
    ip = image_processor_class("Idefics3ImageProcessor")(
        do_image_splitting=splitting, size={"longest_edge": longest}, max_image_size={"longest_edge": tile}
    )
    out = ip(images=[[Image.new("RGB", (w, h))]], return_row_col_info=True)
    assert idefics3_tokens.grid(_Proc(ip), w, h) == (out["rows"][0][0], out["cols"][0][0])


@pytest.mark.parametrize(
    "crop, strategy, extra, expected",
    [(336, "default", 1, 576), (336, "full", 0, 576), (224, "full", 0, 256), (384, "full", 0, 729)],
)
def test_llava_fixed_count(image_processor_class, crop, strategy, extra, expected):
    ip = image_processor_class("CLIPImageProcessor")(
        size={"shortest_edge": crop}, crop_size={"height": crop, "width": crop}
    )
    proc = _Proc(
        ip,
        image_token="<image>",
        patch_size=14,
        vision_feature_select_strategy=strategy,
        num_additional_image_tokens=extra,
    )
    assert resolve_family("llava").count_unsupported(proc) is None
    for w, h in [(10, 10), (640, 480), (100, 2000)]:
        assert image_token_count("llava", proc, w, h) == expected


def test_unknown_family_is_an_error():
    from vlmtrain.errors import VlmTrainError

    with pytest.raises(VlmTrainError, match="'blip2' is not a supported vision-language family"):
        image_token_count("blip2", object(), 10, 10)


@pytest.mark.parametrize("backend", ["pil", "torchvision"])
@pytest.mark.parametrize("max_soft", [70, 280, 1120])
def test_gemma4_soft_tokens_equal_image_processor_grid(backend, max_soft):
    """Gemma4's aspect-preserving resize: the rule's soft-token count equals the image processor's own,
    thin strips (one 48 px band, ratio capped) and dots included; sizes it refuses, both refuse."""
    import transformers

    from vlmtrain.families.gemma4 import tokens as gemma4_tokens

    cls = getattr(transformers, "Gemma4ImageProcessor" + ("Pil" if backend == "pil" else ""))
    ip = cls(max_soft_tokens=max_soft)
    proc = _Proc(ip)
    for w, h in [(1, 1), (10, 1000), (1000, 10), (333, 517), (4000, 3000), (1, 5000), (5000, 1), (47, 47)]:
        out = ip(images=[Image.new("RGB", (w, h))])
        assert gemma4_tokens.count(proc, w, h) == out["num_soft_tokens_per_image"][0], (w, h)


@budget(30)
@given(w=st.integers(1, 3000), h=st.integers(1, 3000), max_soft=st.sampled_from([70, 140, 280, 560]))
def test_gemma4_rule_equals_image_processor_random(w, h, max_soft):
    from transformers import Gemma4ImageProcessorPil

    from vlmtrain.families.gemma4 import tokens as gemma4_tokens

    ip = Gemma4ImageProcessorPil(max_soft_tokens=max_soft)
    try:
        expected = ip(images=[Image.new("RGB", (w, h))])["num_soft_tokens_per_image"][0]
    except ValueError:
        with pytest.raises(ValueError):
            gemma4_tokens.count(_Proc(ip), w, h)
        return
    assert gemma4_tokens.count(_Proc(ip), w, h) == expected


LFM2_VL_CONFIGS = [
    dict(max_pixels_tolerance=1.5, use_thumbnail=True),  # LiquidAI/LFM2-VL-1.6B processor_config.json
    dict(max_pixels_tolerance=2.0, use_thumbnail=False),  # LiquidAI/LFM2-VL-450M processor_config.json
    dict(do_image_splitting=False),
]


@budget(40)
@given(cfg=st.sampled_from(LFM2_VL_CONFIGS), w=st.integers(1, 3000), h=st.integers(1, 3000))
def test_lfm2_vl_layout_equals_image_processor(cfg, w, h):
    """Tiling, grid and smart-resize against Lfm2VlImageProcessor (torchvision only): rows, cols and the
    resized size it reports, so the per-tile and thumbnail token counts follow."""
    import math

    from transformers import Lfm2VlImageProcessor

    from vlmtrain.families.lfm2_vl import tokens as lfm2_vl_tokens

    ip = Lfm2VlImageProcessor(**cfg)
    out = ip(images=[[Image.new("RGB", (w, h))]], return_row_col_info=True)
    rows, cols, per_tile, whole, _ = lfm2_vl_tokens.layout(_Proc(ip), w, h)
    new_h, new_w = out["image_sizes"][0]
    assert (rows, cols) == (out["image_rows"][0], out["image_cols"][0])
    assert whole == math.ceil(new_h // 16 / 2) * math.ceil(new_w // 16 / 2)
    assert per_tile == 256
