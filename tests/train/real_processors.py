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


def _with_image_processor(tiny, ip, **settings):
    """The tiny processor's own class and parts (tokenizer, template, feature extractor, video processor
    when loaded) with the checkpoint's image processor and processor settings."""
    parts = {name: getattr(tiny, name) for name in tiny.get_attributes()}
    return type(tiny)(**{**parts, "image_processor": ip}, chat_template=tiny.chat_template, **settings)


def _gemma3n(tiny, backend: str):
    import transformers

    # google/gemma-3n-E2B-it: transformers' convert_gemma3n_weights.py builds the shipped processor as
    # SiglipImageProcessorFast(size 768x768, bilinear, do_normalize=False, mean/std 0.5) with
    # Gemma3nProcessor's defaults image_seq_length=256, audio_seq_length=188 (Gemma3nConfig's
    # vision_soft_tokens_per_image=256: MobileNet-v5's 768 px output pooled to 16 x 16).
    cls = getattr(transformers, "SiglipImageProcessor" + ("Pil" if backend == "pil" else ""))
    ip = cls(
        size={"height": 768, "width": 768},
        resample=2,
        do_normalize=False,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    return _with_image_processor(tiny, ip, image_seq_length=256, audio_seq_length=188)


def _gemma4(tiny, backend: str):
    import transformers

    # google/gemma-4-E2B-it (and the other released Gemma 4 checkpoints): the "image_processor" section of
    # processor_config.json, as a public re-implementation's fixture quotes it: patch 16, pooling 3,
    # max_soft_tokens 280, bicubic, rescale 1/255, no normalization (the model scales pixels itself);
    # image_seq_length 280.
    cls = getattr(transformers, "Gemma4ImageProcessor" + ("Pil" if backend == "pil" else ""))
    ip = cls(
        patch_size=16,
        pooling_kernel_size=3,
        max_soft_tokens=280,
        resample=3,
        do_normalize=False,
        image_mean=[0.0, 0.0, 0.0],
        image_std=[1.0, 1.0, 1.0],
    )
    return _with_image_processor(tiny, ip, image_seq_length=280)


LFM2_VL_1_6B = dict(
    # LiquidAI/LFM2-VL-1.6B processor_config.json: splitting on, downsample 2, encoder patch 16, 64..256
    # image tokens, 2..10 tiles of 512, thumbnail on, max_pixels_tolerance 1.5 (LFM2-VL-450M: the same
    # but tolerance 2.0 and no thumbnail); use_image_special_tokens true (the processor's default).
    do_image_splitting=True,
    downsample_factor=2,
    encoder_patch_size=16,
    min_image_tokens=64,
    max_image_tokens=256,
    min_tiles=2,
    max_tiles=10,
    tile_size=512,
    use_thumbnail=True,
    max_pixels_tolerance=1.5,
)


def _lfm2_vl(tiny, backend: str):
    from transformers import Lfm2VlImageProcessor

    # transformers has only the torchvision-backed image processor (the test skips "pil" for it)
    return _with_image_processor(tiny, Lfm2VlImageProcessor(**LFM2_VL_1_6B))


REAL = {
    "idefics2": _idefics2,
    "gemma3n": _gemma3n,
    "gemma4": _gemma4,
    "lfm2_vl": _lfm2_vl,
    "mistral3": _mistral3,
}
# Tokens one 640x480 image becomes with those settings (checked against the processor in the test).
TOKENS_640x480 = {
    "idefics2": 5 * 64 + 6,  # 4 crops + the image, 64 latents each, 6 shared delimiters
    "gemma3n": 256 + 2,  # fixed soft tokens + start/end of image, whatever the size
    "lfm2_vl": 234 + 2,  # one tile resized to 576x416: 18 x 13 tokens, + image start/end
    "gemma4": 266 + 2,  # resized to 912x672: 57 x 42 patches pooled 3 x 3, + start/end of image
    "mistral3": 18 * (23 + 1),  # ceil(480/28) rows of ceil(640/28) tokens, each closed by a break/end
}
