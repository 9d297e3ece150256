"""Processors configured as the real checkpoints configure them, on the tiny model's tokenizer and chat
template (no Hub access in tests): what the header rules must count exactly at real image settings.

    REAL[name](tiny_processor, backend) -> that family's processor class with the checkpoint's values
    backend: "pil" (the *ImageProcessorPil class) or "torchvision" (the torchvision-backed class)

Each entry cites where its values come from.
"""

from __future__ import annotations

BACKENDS = ("pil", "torchvision")


def _idefics2(tiny, backend: str):
    from transformers import Idefics2Processor
    from transformers.models.idefics2.image_processing_idefics2 import Idefics2ImageProcessor
    from transformers.models.idefics2.image_processing_pil_idefics2 import Idefics2ImageProcessorPil

    # HuggingFaceM4/idefics2-8b preprocessor_config.json: do_image_splitting true, size shortest_edge 378
    # / longest_edge 980, resample 2, mean/std 0.5; processor_config.json: image_seq_len 64 (=
    # perceiver_config.resampler_n_latents in config.json).
    cls = Idefics2ImageProcessorPil if backend == "pil" else Idefics2ImageProcessor
    ip = cls(
        do_image_splitting=True,
        size={"shortest_edge": 378, "longest_edge": 980},
        resample=2,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    return Idefics2Processor(ip, tiny.tokenizer, image_seq_len=64, chat_template=tiny.chat_template)


def _qwen2vl_image_processor(backend: str, **settings):
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor

    return (Qwen2VLImageProcessorPil if backend == "pil" else Qwen2VLImageProcessor)(**settings)


# Qwen/Qwen3-VL-2B-Instruct and -8B-Instruct preprocessor_config.json (image_processor_type
# Qwen2VLImageProcessorFast, processor_class Qwen3VLProcessor): size shortest_edge 65536 (256*256) /
# longest_edge 16777216 (4096*4096), patch_size 16, temporal_patch_size 2, merge_size 2, mean/std 0.5.
# Qwen/Qwen3.5-2B-Base ships the same preprocessor_config.json (seen in a dump of that file).
QWEN3_VL_IMAGE = dict(
    size={"shortest_edge": 65536, "longest_edge": 16777216},
    patch_size=16,
    temporal_patch_size=2,
    merge_size=2,
    image_mean=[0.5, 0.5, 0.5],
    image_std=[0.5, 0.5, 0.5],
)


def _qwen3_vl(tiny, backend: str):
    from transformers import Qwen3VLProcessor

    from vlmtrain.families._compat import no_video_subclass

    ip = _qwen2vl_image_processor(backend, **QWEN3_VL_IMAGE)
    return no_video_subclass(Qwen3VLProcessor)(ip, tiny.tokenizer, chat_template=tiny.chat_template)


# zai-org/GLM-4.1V-9B-Thinking preprocessor_config.json (image_processor_type Glm4vImageProcessor): size
# shortest_edge 12544 (112*112) / longest_edge 9633792, patch_size 14, temporal_patch_size 2, merge_size 2,
# OpenAI CLIP mean/std. GLM-4.5V and GLM-OCR ship the same image values (zai-org/GLM-OCR's file is
# quoted verbatim in a public test; a model-prep tool writes these for model_type glm4v).
GLM4V_IMAGE = dict(
    size={"shortest_edge": 12544, "longest_edge": 9633792},
    patch_size=14,
    temporal_patch_size=2,
    merge_size=2,
    image_mean=[0.48145466, 0.4578275, 0.40821073],
    image_std=[0.26862954, 0.26130258, 0.27577711],
)


def _glm4v(tiny, backend: str):
    from transformers import Glm4vProcessor
    from transformers.models.glm4v.image_processing_glm4v import Glm4vImageProcessor
    from transformers.models.glm4v.image_processing_pil_glm4v import Glm4vImageProcessorPil

    from vlmtrain.families._compat import no_video_subclass

    ip = (Glm4vImageProcessorPil if backend == "pil" else Glm4vImageProcessor)(**GLM4V_IMAGE)
    return no_video_subclass(Glm4vProcessor)(ip, tiny.tokenizer, chat_template=tiny.chat_template)


REAL = {
    "idefics2": _idefics2,
    "qwen3_vl": _qwen3_vl,
    "qwen3_5": _qwen3_vl,  # transformers maps qwen3_5 and qwen3_5_moe to Qwen3VLProcessor
    "glm4v": _glm4v,
}


def _glm4v_messages(messages: list[dict]) -> list[dict]:
    # GLM-4.1V's template writes system and assistant content with {{ msg.content }}: its users pass those
    # turns as plain strings (a list would be printed as a Python list). It closes no assistant turn, so
    # the family appends <|endoftext|> to each so the model learns to stop.
    def text(m):
        return "".join(p.get("text", "") for p in m["content"])

    return [
        m
        if m["role"] == "user"
        else {**m, "content": text(m) + ("<|endoftext|>" if m["role"] == "assistant" else "")}
        for m in messages
    ]


# How each template's users shape messages when it is not typed parts in every turn.
MESSAGE_SHAPE = {"glm4v": _glm4v_messages}
# Tokens one 640x480 image becomes with those settings (checked against the processor in the test).
TOKENS_640x480 = {
    "idefics2": 5 * 64 + 6,  # 4 crops + the image, 64 latents each, 6 shared delimiters
    "qwen3_vl": 300,  # sides already multiples of 32: grid 30x40 patches of 16, merged 2x2
    "qwen3_5": 300,
    "glm4v": 391,  # 644x476 after GLM's smart_resize (factor 28): grid 34x46, merged 2x2
}
