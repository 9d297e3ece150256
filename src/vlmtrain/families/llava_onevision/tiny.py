"""Tiny LLaVA-OneVision: Qwen2 text 64 x 2 layers, SigLIP vision 32 x 2 layers at 32 px / patch 8
(16 tokens per tile, "full" strategy), anyres-max-9 over pinpoints up to 64x64, image_newline; the
checkpoint's Qwen-style chat template (llava-onevision-qwen2-0.5b-ov-hf chat_template.json)."""

from __future__ import annotations

from pathlib import Path

import vlmtrain.tiny.common as _common
from vlmtrain.tiny.common import TinyModel, chatml_tokenizer, save, text_config, vision_config

IMAGE_SIZE, PATCH = 32, 8
END_OF_TURN = "<|im_end|>"
PINPOINTS = [[32, 32], [32, 64], [64, 32], [64, 64]]
# llava-hf/llava-onevision-qwen2-0.5b-ov-hf chat_template.json (images first, then text; the role is
# followed by a space, the generation prompt by "\n").
CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + ' '}}"
    "{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
    "{{ '<image>' }}{% endfor %}"
    "{# Render all video then #}{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}"
    "{{ '<video>' }}{% endfor %}"
    "{# Render all text next #}{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ '\\n' + content['text'] }}"
    "{% endfor %}{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{% generation %}{{ '\\n' + content['text'] }}{% endgeneration %}{% endfor %}{% endif %}"
    "{{'<|im_end|>'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def video_processor_config() -> dict:
    """`LlavaOnevisionVideoProcessor(size=<the tiny tile>)` as its save_pretrained writes it (class
    defaults: CLIP mean/std, bicubic), so stock AutoProcessor loads the folder."""
    return _common.clip_video_processor_config(
        "LlavaOnevisionVideoProcessor", {"height": IMAGE_SIZE, "width": IMAGE_SIZE}
    )


def build(out: Path) -> None:
    from transformers import (
        LlavaOnevisionConfig,
        LlavaOnevisionForConditionalGeneration,
        LlavaOnevisionProcessor,
    )
    from transformers.models.llava_onevision.image_processing_pil_llava_onevision import (
        LlavaOnevisionImageProcessorPil,
    )

    from vlmtrain.encoding.compat import no_video_subclass

    tok = chatml_tokenizer(("<image>", "<video>"))
    ip = LlavaOnevisionImageProcessorPil(
        size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}, image_grid_pinpoints=PINPOINTS
    )
    processor = no_video_subclass(LlavaOnevisionProcessor)(
        image_processor=ip,
        tokenizer=tok,
        num_image_tokens=(IMAGE_SIZE // PATCH) ** 2,
        vision_feature_select_strategy="full",
        vision_aspect_ratio="anyres_max_9",
        chat_template=CHAT_TEMPLATE,
    )
    config = LlavaOnevisionConfig(
        text_config=text_config(tok, model_type="qwen2", max_position_embeddings=4096),
        vision_config=vision_config(
            model_type="siglip_vision_model",
            num_hidden_layers=2,
            image_size=IMAGE_SIZE,
            patch_size=PATCH,
        ),
        image_token_id=tok.convert_tokens_to_ids("<image>"),
        video_token_id=tok.convert_tokens_to_ids("<video>"),
        vision_feature_layer=-1,
        vision_feature_select_strategy="full",
        vision_aspect_ratio="anyres_max_9",
        image_grid_pinpoints=PINPOINTS,
    )
    model = LlavaOnevisionForConditionalGeneration(config)
    save(out, model, processor, END_OF_TURN, video_processor_config())


TINY = TinyModel(build, END_OF_TURN)
