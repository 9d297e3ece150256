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


def _mistral3(tiny, backend: str):
    from transformers import PixtralProcessor
    from transformers.models.pixtral.image_processing_pil_pixtral import PixtralImageProcessorPil
    from transformers.models.pixtral.image_processing_pixtral import PixtralImageProcessor

    # mistralai/Mistral-Small-3.1-24B-Instruct-2503 preprocessor_config.json: size longest_edge 1540,
    # patch_size 14x14, resample 3, CLIP mean/std (the class defaults); processor_config.json: patch_size
    # 14, spatial_merge_size 2 (= config.json's vision_config.patch_size / spatial_merge_size).
    cls = PixtralImageProcessorPil if backend == "pil" else PixtralImageProcessor
    ip = cls(size={"longest_edge": 1540}, patch_size={"height": 14, "width": 14}, resample=3)
    return PixtralProcessor(
        ip, tiny.tokenizer, patch_size=14, spatial_merge_size=2, chat_template=tiny.chat_template
    )


REAL = {
    "idefics2": _idefics2,
    "mistral3": _mistral3,
}
# Tokens one 640x480 image becomes with those settings (checked against the processor in the test).
TOKENS_640x480 = {
    "idefics2": 5 * 64 + 6,  # 4 crops + the image, 64 latents each, 6 shared delimiters
    "mistral3": 18 * (23 + 1),  # ceil(480/28) rows of ceil(640/28) tokens, each closed by a break/end
}
