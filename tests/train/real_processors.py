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


REAL = {
    "idefics2": _idefics2,
    "qwen3_vl": _qwen3_vl,
    "qwen3_5": _qwen3_vl,  # transformers maps qwen3_5 and qwen3_5_moe to Qwen3VLProcessor
}
# Tokens one 640x480 image becomes with those settings (checked against the processor in the test).
TOKENS_640x480 = {
    "idefics2": 5 * 64 + 6,  # 4 crops + the image, 64 latents each, 6 shared delimiters
    "qwen3_vl": 300,  # sides already multiples of 32: grid 30x40 patches of 16, merged 2x2
    "qwen3_5": 300,
}
