"""Tiny Qwen3-VL: text hidden 64 x 2 layers (head_dim 16, interleaved mrope 2+3+3, q/k norms), vision
32 wide x 2 blocks with patch 16 and one deepstack merger (block 0's features added to LM layer 0)."""

from __future__ import annotations

from pathlib import Path

import vlmtrain.tiny.common as _common
from vlmtrain.families.qwen2_vl.tiny import SPECIALS as QWEN2_VL_SPECIALS
from vlmtrain.families.qwen2_vl.tiny import special_ids
from vlmtrain.tiny.common import TinyModel, merger_vision_config, save, train_tokenizer

# The chat template of Qwen/Qwen3-VL-2B-Instruct and -8B-Instruct (chat_template.json): no default
# system prompt, "Picture N: " only with add_vision_id, tool calls and tool responses.
CHAT_TEMPLATE = """\
{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0].role == 'system' %}
        {%- if messages[0].content is string %}
            {{- messages[0].content }}
        {%- else %}
            {%- for content in messages[0].content %}
                {%- if 'text' in content %}
                    {{- content.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {{- '\\n\\n' }}
    {%- endif %}
    {{- "# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided \
with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments \
within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": \
<args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0].role == 'system' %}
        {{- '<|im_start|>system\\n' }}
        {%- if messages[0].content is string %}
            {{- messages[0].content }}
        {%- else %}
            {%- for content in messages[0].content %}
                {%- if 'text' in content %}
                    {{- content.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- set image_count = namespace(value=0) %}
{%- set video_count = namespace(value=0) %}
{%- for message in messages %}
    {%- if message.role == "user" %}
        {{- '<|im_start|>' + message.role + '\\n' }}
        {%- if message.content is string %}
            {{- message.content }}
        {%- else %}
            {%- for content in message.content %}
                {%- if content.type == 'image' or 'image' in content or 'image_url' in content %}
                    {%- set image_count.value = image_count.value + 1 %}
                    {%- if add_vision_id %}Picture {{ image_count.value }}: {% endif -%}
                    <|vision_start|><|image_pad|><|vision_end|>
                {%- elif content.type == 'video' or 'video' in content %}
                    {%- set video_count.value = video_count.value + 1 %}
                    {%- if add_vision_id %}Video {{ video_count.value }}: {% endif -%}
                    <|vision_start|><|video_pad|><|vision_end|>
                {%- elif 'text' in content %}
                    {{- content.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role + '\\n' }}
        {%- if message.content is string %}
            {{- message.content }}
        {%- else %}
            {%- for content_item in message.content %}
                {%- if 'text' in content_item %}
                    {{- content_item.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {%- if message.tool_calls %}
            {%- for tool_call in message.tool_calls %}
                {%- if (loop.first and message.content) or (not loop.first) %}
                    {{- '\\n' }}
                {%- endif %}
                {%- if tool_call.function %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {{- '<tool_call>\\n{"name": "' }}
                {{- tool_call.name }}
                {{- '", "arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments | tojson }}
                {%- endif %}
                {{- '}\\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {%- if message.content is string %}
            {{- message.content }}
        {%- else %}
            {%- for content in message.content %}
                {%- if content.type == 'image' or 'image' in content or 'image_url' in content %}
                    {%- set image_count.value = image_count.value + 1 %}
                    {%- if add_vision_id %}Picture {{ image_count.value }}: {% endif -%}
                    <|vision_start|><|image_pad|><|vision_end|>
                {%- elif content.type == 'video' or 'video' in content %}
                    {%- set video_count.value = video_count.value + 1 %}
                    {%- if add_vision_id %}Video {{ video_count.value }}: {% endif -%}
                    <|vision_start|><|video_pad|><|vision_end|>
                {%- elif 'text' in content %}
                    {{- content.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""
# Qwen3's special tokens (ids in the real vocab: <|endoftext|> 151643 ... <|video_pad|> 151656, <think>).
SPECIALS = [*QWEN2_VL_SPECIALS, "<think>", "</think>"]
PATCH = 16  # Qwen3-VL's vision patch (Qwen2-VL: 14); merge 2, so sides are multiples of 32
# The checkpoints' image normalisation (preprocessor_config.json: image_mean = image_std = 0.5).
NORM = dict(image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
MIN_PIXELS, MAX_PIXELS = 32 * 32, 64 * 64  # a 32 px image: a 2x2 patch grid -> 1 token; 56 px -> 4


def video_processor_config() -> dict:
    """`Qwen3VLVideoProcessor(size=<the tiny pixel budget>)` as its save_pretrained writes it (Qwen3.5
    uses the same class): the class defaults (patch 16, mean/std 0.5, 2 fps sampling, bicubic)."""
    return {
        **_common.VIDEO_PROCESSOR_DEFAULTS,
        "do_sample_frames": True,
        "fps": 2,
        **NORM,
        "max_frames": 768,
        "max_video_tokens": 768,
        "merge_size": 2,
        "min_frames": 4,
        "patch_size": PATCH,
        "resample": 3,
        "size": {"longest_edge": MAX_PIXELS, "shortest_edge": MIN_PIXELS},
        "temporal_patch_size": 2,
        "video_processor_type": "Qwen3VLVideoProcessor",
    }


def tokenizer_and_image_processor(specials=SPECIALS):
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    tok = train_tokenizer(specials, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    ip = Qwen2VLImageProcessorPil(patch_size=PATCH, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS, **NORM)
    return tok, ip


def text_config(tok, **overrides) -> dict:
    return _common.text_config(
        tok,
        head_dim=16,
        rope_parameters={
            "rope_type": "default",
            "rope_theta": 5_000_000.0,
            "mrope_section": [2, 3, 3],  # sums to head_dim / 2 (the real 8B: 24+20+20 of 128)
            "mrope_interleaved": True,
        },
        bos_token_id=None,
        **overrides,
    )


VISION_CONFIG = merger_vision_config(
    depth=2,
    patch_size=PATCH,
    num_position_embeddings=16,  # a 4x4 grid, interpolated to the image's grid (real: 2304 = 48x48)
    deepstack_visual_indexes=[0],
)


def processor(tok, ip, chat_template=CHAT_TEMPLATE):
    from transformers import Qwen3VLProcessor

    from vlmtrain.encoding.compat import no_video_subclass

    return no_video_subclass(Qwen3VLProcessor)(image_processor=ip, tokenizer=tok, chat_template=chat_template)


def build(out: Path) -> None:
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

    tok, ip = tokenizer_and_image_processor()
    config = Qwen3VLConfig(text_config=text_config(tok), vision_config=VISION_CONFIG, **special_ids(tok))
    model = Qwen3VLForConditionalGeneration(config)
    save(out, model, processor(tok, ip), END_OF_TURN, video_processor=video_processor_config())


END_OF_TURN = "<|im_end|>"  # what the template closes an assistant turn with (tests check labels end with it)


TINY = TinyModel(build, END_OF_TURN)
