"""Tiny ERNIE-4.5-VL-MoE: text 64 wide x 2 layers (head_dim 16, 3-D RoPE 3+3+2), layer 0 dense, layer 1
sparse with modality-isolated experts (2 text experts and 2 vision experts, top-1, one shared expert);
vision 32 wide x 1 block (patch 14) and the variable-resolution resampler (2x2 spatial, 2 temporal) onto
the text width. The real tokens (`<|IMAGE_PLACEHOLDER|>` between `<|IMAGE_START|>`/`<|IMAGE_END|>`, the
video ones, `<|begin_of_sentence|>`, `<|end_of_sentence|>`, `<think>`); the template is this builder's own,
in the checkpoint's layout without its thinking block (see the family's docstring)."""

from __future__ import annotations

import json
from pathlib import Path

import vlmtrain.tiny.common as _common
from vlmtrain.tiny.common import TinyModel, save, text_config, train_tokenizer

SPECIALS = [
    "<unk>",
    "<s>",
    "</s>",
    "<|begin_of_sentence|>",
    "<|end_of_sentence|>",
    "<|IMAGE_PLACEHOLDER|>",
    "<|IMAGE_START|>",
    "<|IMAGE_END|>",
    "<|VIDEO_PLACEHOLDER|>",
    "<|VIDEO_START|>",
    "<|VIDEO_END|>",
    "<think>",
    "</think>",
]
# 28..56 px a side (factor 28 = patch 14 x merge 2): a 32 px image is a 2x2 patch grid -> 1 token.
MIN_PIXELS, MAX_PIXELS = 28 * 28, 56 * 56

# The tiny model's own template, in ERNIE-4.5-VL's layout: "<|begin_of_sentence|>", a system turn's text
# and "\n", "User: " + text and "Picture k:" + the image tokens in order, "\nAssistant: " + answer +
# "<|end_of_sentence|>". Its generation prompt is "\nAssistant:", stopping before the space, so the
# answer's first token (which carries that space) is the answer's; the checkpoint's ends "\nAssistant: "
# and adds a think block its answers in history do not have, so it is no prefix of them.
CHAT_TEMPLATE = (
    "{%- set image_count = namespace(value=0) -%}"
    "{{- '<|begin_of_sentence|>' -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] in ['system', 'user'] -%}"
    "{%- if message['role'] == 'user' -%}{{- 'User: ' -}}{%- endif -%}"
    "{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'text' -%}{{- item['text'] -}}"
    "{%- elif item['type'] == 'image' -%}"
    "{%- set image_count.value = image_count.value + 1 -%}"
    "Picture {{ image_count.value }}:<|IMAGE_START|><|IMAGE_PLACEHOLDER|><|IMAGE_END|>"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if message['role'] == 'system' -%}{{- '\\n' -}}{%- endif -%}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{{- '\\nAssistant: ' -}}"
    "{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'text' -%}{{- item['text'] -}}{%- endif -%}"
    "{%- endfor -%}"
    "{{- '<|end_of_sentence|>' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '\\nAssistant:' -}}{%- endif -%}"
)


def video_processor():
    """Ernie4_5_VLMoeVideoProcessor at the tiny pixel budget, not drawing timestamps (no font file to
    ship); the family refuses videos, so the processor only has to load."""
    from transformers.models.ernie4_5_vl_moe.video_processing_ernie4_5_vl_moe import (
        Ernie4_5_VLMoeVideoProcessor,
    )

    return Ernie4_5_VLMoeVideoProcessor(
        size={"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS}, draw_on_frames=False
    )


def build(out: Path) -> None:
    from transformers import (
        Ernie4_5_VLMoeConfig,
        Ernie4_5_VLMoeForConditionalGeneration,
        Ernie4_5_VLMoeProcessor,
    )
    from transformers.models.ernie4_5_vl_moe.image_processing_pil_ernie4_5_vl_moe import (
        Ernie4_5_VLMoeImageProcessorPil,
    )

    tok = train_tokenizer(
        SPECIALS,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<unk>",
        unk_token="<unk>",
        cls_token="<|begin_of_sentence|>",
        sep_token="<|end_of_sentence|>",
        extra_special_tokens={
            "image_token": "<|IMAGE_PLACEHOLDER|>",
            "image_start_token": "<|IMAGE_START|>",
            "image_end_token": "<|IMAGE_END|>",
            "video_token": "<|VIDEO_PLACEHOLDER|>",
            "video_start_token": "<|VIDEO_START|>",
            "video_end_token": "<|VIDEO_END|>",
        },
    )
    ip = Ernie4_5_VLMoeImageProcessorPil(
        size={"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS}, **_common.CLIP_NORM
    )
    vp = video_processor()
    processor = Ernie4_5_VLMoeProcessor(
        image_processor=ip, tokenizer=tok, video_processor=vp, chat_template=CHAT_TEMPLATE
    )
    ids = tok.convert_tokens_to_ids
    config = Ernie4_5_VLMoeConfig(
        text_config=text_config(
            tok,
            head_dim=16,
            # height, width, time: 3+3+2 = head_dim / 2 (the real 28B: 22+22+20 of 128); h and w equal, as
            # the model interleaves them
            rope_parameters={"rope_type": "default", "rope_theta": 500000.0, "mrope_section": [3, 3, 2]},
            mlp_layer_types=["dense", "sparse"],
            moe_intermediate_size=[32, 16],  # text experts, vision experts
            moe_num_experts=2,
            moe_k=1,
            moe_num_shared_experts=1,
        ),
        vision_config=dict(
            depth=1,
            hidden_size=32,
            intermediate_size=64,
            num_heads=2,
            patch_size=14,
            spatial_merge_size=2,
            temporal_merge_size=2,
        ),
        image_token_id=ids("<|IMAGE_PLACEHOLDER|>"),
        image_start_token_id=ids("<|IMAGE_START|>"),
        image_end_token_id=ids("<|IMAGE_END|>"),
        video_token_id=ids("<|VIDEO_PLACEHOLDER|>"),
        video_start_token_id=ids("<|VIDEO_START|>"),
        video_end_token_id=ids("<|VIDEO_END|>"),
    )
    # also as video_preprocessor_config.json, where other tools look for it (the class's own JSON)
    video = json.loads(vp.to_json_string())
    save(out, Ernie4_5_VLMoeForConditionalGeneration(config), processor, END_OF_TURN, video_processor=video)


END_OF_TURN = "<|end_of_sentence|>"  # what the template closes an answer with


TINY = TinyModel(build, END_OF_TURN)
