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


def _llava_onevision(tiny, backend: str):
    from transformers.models.llava_onevision.image_processing_llava_onevision import (
        LlavaOnevisionImageProcessor,
    )
    from transformers.models.llava_onevision.image_processing_pil_llava_onevision import (
        LlavaOnevisionImageProcessorPil,
    )

    from vlmtrain.families import resolve_family

    # llava-hf/llava-onevision-qwen2-0.5b-ov-hf (same for -7b-ov-hf): preprocessor_config.json size
    # height/width 384, resample 3, mean/std 0.5, do_pad true, image_grid_pinpoints the 36 multiples of
    # 384 up to 2304x2304 (the class default, also listed in config.json); processor_config.json
    # num_image_tokens 729, vision_feature_select_strategy "full", vision_aspect_ratio unset (the class
    # default "anyres_max_9", config.json's too).
    cls = LlavaOnevisionImageProcessorPil if backend == "pil" else LlavaOnevisionImageProcessor
    ip = cls(
        size={"height": 384, "width": 384},
        resample=3,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
        do_pad=True,
    )
    return resolve_family("llava_onevision").no_video_processor_class()(
        image_processor=ip,
        tokenizer=tiny.tokenizer,
        num_image_tokens=729,
        vision_feature_select_strategy="full",
        chat_template=tiny.chat_template,
    )


def _internvl(tiny, backend: str):
    from transformers.models.got_ocr2.image_processing_got_ocr2 import GotOcr2ImageProcessor
    from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import GotOcr2ImageProcessorPil

    from vlmtrain.families import resolve_family

    # OpenGVLab/InternVL3-1B-hf (and the other InternVL3/3.5 -hf checkpoints, as transformers'
    # convert_internvl_weights_to_hf writes them; the same file ships with InternVLProcessor models
    # such as internlm/Intern-S1-mini): preprocessor_config.json size 448x448, crop_to_patches false
    # (InternVLProcessor's images_kwargs default turns it on at call time), min_patches 1, max_patches
    # 12, resample 3, ImageNet mean/std; processor_config.json image_seq_length 256
    # ((448 / 14)^2 x downsample_ratio 0.5^2).
    cls = GotOcr2ImageProcessorPil if backend == "pil" else GotOcr2ImageProcessor
    ip = cls(
        size={"height": 448, "width": 448},
        crop_to_patches=False,
        min_patches=1,
        max_patches=12,
        resample=3,
        image_mean=[0.485, 0.456, 0.406],
        image_std=[0.229, 0.224, 0.225],
    )
    return resolve_family("internvl").no_video_processor_class()(
        image_processor=ip, tokenizer=tiny.tokenizer, image_seq_length=256, chat_template=tiny.chat_template
    )


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


def _gemma4_unified(tiny, backend: str):
    from transformers import Gemma4UnifiedImageProcessor

    # google/gemma-4-12B-it: transformers' Gemma4UnifiedImageProcessor defaults, which its config docs
    # (`@auto_docstring(checkpoint="google/gemma-4-12B-it")`) and Gemma4UnifiedVisionConfig (patch 16,
    # pooling 3 -> 48 px model patches) describe: max_soft_tokens 280, bicubic, rescale 1/255, no
    # normalization; Gemma4UnifiedProcessor's image_seq_length 280. Only torchvision-backed.
    ip = Gemma4UnifiedImageProcessor(
        patch_size=16,
        pooling_kernel_size=3,
        max_soft_tokens=280,
        resample=3,
        do_normalize=False,
        image_mean=[0.0, 0.0, 0.0],
        image_std=[1.0, 1.0, 1.0],
    )
    return _with_image_processor(tiny, ip, image_seq_length=280)


def _molmo2(tiny, backend: str):
    from transformers import Molmo2ImageProcessor

    # allenai/Molmo2-4B preprocessor_config.json (a Hub download committed to albud1978/CV @ 83e865d2; the
    # -8B card describes the same processor): size 378x378, patch_size 14, max_crops 8, overlap_margins
    # [4, 4], pooling_size [2, 2], resample 2, mean/std 0.5. Molmo2Processor's image settings are its
    # defaults (col tokens on, low-res view started by <low_res_im_start>). Only torchvision-backed.
    ip = Molmo2ImageProcessor(
        size={"height": 378, "width": 378},
        patch_size=14,
        max_crops=8,
        overlap_margins=[4, 4],
        pooling_size=[2, 2],
        resample=2,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    return _with_image_processor(tiny, ip)


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

    from vlmtrain.encoding.compat import no_video_subclass

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

    from vlmtrain.encoding.compat import no_video_subclass

    ip = (Glm4vImageProcessorPil if backend == "pil" else Glm4vImageProcessor)(**GLM4V_IMAGE)
    return no_video_subclass(Glm4vProcessor)(ip, tiny.tokenizer, chat_template=tiny.chat_template)


def _glm46v(tiny, backend: str):
    from transformers import Glm46VProcessor
    from transformers.models.glm46v.image_processing_glm46v import Glm46VImageProcessor
    from transformers.models.glm46v.image_processing_pil_glm46v import Glm46VImageProcessorPil

    from vlmtrain.encoding.compat import no_video_subclass

    # zai-org/GLM-OCR preprocessor_config.json (revision 2e85a628, quoted verbatim in a public Go test and
    # in a published curl transcript, identical): Glm46VImageProcessor/Glm46VProcessor with size
    # 12544..9633792, patch 14, temporal 2, merge 2, CLIP mean/std, the GLM-4.1V values above. GLM-4.6V's
    # and GLM-4.6V-Flash's own file was not found verbatim; they name the same classes, and these values.
    ip = (Glm46VImageProcessorPil if backend == "pil" else Glm46VImageProcessor)(**GLM4V_IMAGE)
    return no_video_subclass(Glm46VProcessor)(ip, tiny.tokenizer, chat_template=tiny.chat_template)


# PaddlePaddle/PaddleOCR-VL preprocessor_config.json (PaddleOCRVLImageProcessor): min_pixels 147384,
# max_pixels 2822400, patch_size 14, temporal_patch_size 1, merge_size 2, resample 3, mean/std 0.5 (the file
# as quoted in public code: a model-settings report and the PaddleOCR-VL OpenVINO port's defaults).
PADDLEOCR_VL_IMAGE = dict(
    min_pixels=147384,
    max_pixels=2822400,
    patch_size=14,
    temporal_patch_size=1,
    merge_size=2,
    resample=3,
    image_mean=[0.5, 0.5, 0.5],
    image_std=[0.5, 0.5, 0.5],
)


def _paddleocr_vl(tiny, backend: str):
    from transformers import PaddleOCRVLProcessor
    from transformers.models.paddleocr_vl.image_processing_paddleocr_vl import PaddleOCRVLImageProcessor
    from transformers.models.paddleocr_vl.image_processing_pil_paddleocr_vl import (
        PaddleOCRVLImageProcessorPil,
    )

    cls = PaddleOCRVLImageProcessorPil if backend == "pil" else PaddleOCRVLImageProcessor
    return PaddleOCRVLProcessor(cls(**PADDLEOCR_VL_IMAGE), tiny.tokenizer, chat_template=tiny.chat_template)


def _ernie4_5_vl_moe(tiny, backend: str):
    from transformers import Ernie4_5_VLMoeProcessor
    from transformers.models.ernie4_5_vl_moe.image_processing_ernie4_5_vl_moe import (
        Ernie4_5_VLMoeImageProcessor,
    )
    from transformers.models.ernie4_5_vl_moe.image_processing_pil_ernie4_5_vl_moe import (
        Ernie4_5_VLMoeImageProcessorPil,
    )

    # baidu/ERNIE-4.5-VL-28B-A3B-PT: transformers' convert_ernie4_5_vl_moe_to_hf.py writes the image
    # processor as `Ernie4_5_VLMoeImageProcessorFast()`, the class defaults: size shortest_edge 3136
    # (56*56) / longest_edge 4842768 (28*28*6177), patch 14, merge 2, resample 3, OpenAI CLIP mean/std.
    cls = Ernie4_5_VLMoeImageProcessorPil if backend == "pil" else Ernie4_5_VLMoeImageProcessor
    ip = cls(size={"shortest_edge": 56 * 56, "longest_edge": 28 * 28 * 6177}, patch_size=14, merge_size=2)
    return Ernie4_5_VLMoeProcessor(ip, tiny.tokenizer, tiny.video_processor, chat_template=tiny.chat_template)


def _deepseek_ocr2(tiny, backend: str):
    from transformers import DeepseekOcr2Processor
    from transformers.models.deepseek_ocr2.image_processing_deepseek_ocr2 import DeepseekOcr2ImageProcessor
    from transformers.models.deepseek_ocr2.image_processing_pil_deepseek_ocr2 import (
        DeepseekOcr2ImageProcessorPil,
    )

    # deepseek-community/DeepSeek-OCR-2 as transformers' convert_deepseek_ocr2_weights_to_hf.py writes it:
    # `DeepseekOcr2ImageProcessor()` (class defaults: size 1024x1024, tile_size 768, crop_to_patches on,
    # min_patches 2, max_patches 6, bicubic, mean/std 0.5) and `DeepseekOcr2Processor(image_processor,
    # tokenizer)` (patch_size 16, downsample_ratio 4; its call-time images_kwargs: crops on, 2..6).
    ip = (DeepseekOcr2ImageProcessorPil if backend == "pil" else DeepseekOcr2ImageProcessor)()
    return DeepseekOcr2Processor(ip, tiny.tokenizer, chat_template=tiny.chat_template)


def _minicpmv4_6(tiny, backend: str):
    from transformers import MiniCPMV4_6Processor
    from transformers.models.minicpmv4_6.image_processing_minicpmv4_6 import MiniCPMV4_6ImageProcessor
    from transformers.models.minicpmv4_6.image_processing_pil_minicpmv4_6 import (
        MiniCPMV4_6ImageProcessorPil,
    )
    from transformers.models.minicpmv4_6.video_processing_minicpmv4_6 import MiniCPMV4_6VideoProcessor

    # openbmb/MiniCPM-V-4.6: the image processor classes' defaults, which transformers documents for that
    # checkpoint (auto_docstring checkpoint="openbmb/MiniCPM-V-4.6"): scale_resolution 448, patch_size 14,
    # max_slice_nums 9, slice_mode on, downsample_mode "16x", use_image_id on, bicubic, mean/std 0.5 (the
    # checkpoint's preprocessor_config.json itself is not held here); the video processor's defaults.
    cls = MiniCPMV4_6ImageProcessorPil if backend == "pil" else MiniCPMV4_6ImageProcessor
    return MiniCPMV4_6Processor(
        cls(), MiniCPMV4_6VideoProcessor(), tiny.tokenizer, chat_template=tiny.chat_template
    )


# tencent/HunyuanOCR preprocessor_config.json as transformers 5.25 reads it (the class defaults, documented
# for that checkpoint: HunYuanVLImageProcessor's docstring and its note that the checkpoint's resample=1 is
# never used): min_pixels 262144 (512*512) / max_pixels 4194304 (2048*2048), patch 16, merge 2, temporal
# patch 1, OpenAI CLIP mean/std; the vision config's min/max_image_size 512/2048 agree. cat_extra_token true
# (HunYuanVLProcessor's default: the 2 begin/end features).
HUNYUAN_OCR_IMAGE = dict(
    size={"shortest_edge": 512 * 512, "longest_edge": 2048 * 2048},
    patch_size=16,
    temporal_patch_size=1,
    merge_size=2,
    image_mean=[0.48145466, 0.4578275, 0.40821073],
    image_std=[0.26862954, 0.26130258, 0.27577711],
)


def _hunyuan_vl(tiny, backend: str):
    from transformers import HunYuanVLProcessor
    from transformers.models.hunyuan_vl.image_processing_hunyuan_vl import HunYuanVLImageProcessor
    from transformers.models.hunyuan_vl.image_processing_pil_hunyuan_vl import HunYuanVLImageProcessorPil

    ip = (HunYuanVLImageProcessorPil if backend == "pil" else HunYuanVLImageProcessor)(**HUNYUAN_OCR_IMAGE)
    return HunYuanVLProcessor(ip, tiny.tokenizer, chat_template=tiny.chat_template, cat_extra_token=True)


# ovis-community/Ovis2.5-2B as transformers' Ovis2.5 conversion script writes it (CHECKPOINT_SPECS,
# MIN_PIXELS): Ovis2_5ImageProcessor(min_pixels=448*448, max_pixels=1344*1792), the class defaults
# otherwise (patch 16, merge 2, temporal patch 1, mean/std 0.5, bilinear); Ovis2.5-9B: max 1792*1792.
OVIS2_5_2B_IMAGE = dict(size={"shortest_edge": 448 * 448, "longest_edge": 1344 * 1792})


def _ovis2_5(tiny, backend: str):
    from transformers import Ovis2_5Processor
    from transformers.models.ovis2_5.image_processing_ovis2_5 import Ovis2_5ImageProcessor
    from transformers.models.ovis2_5.image_processing_pil_ovis2_5 import Ovis2_5ImageProcessorPil

    from vlmtrain.encoding.compat import no_video_subclass

    ip = (Ovis2_5ImageProcessorPil if backend == "pil" else Ovis2_5ImageProcessor)(**OVIS2_5_2B_IMAGE)
    return no_video_subclass(Ovis2_5Processor)(ip, tiny.tokenizer, chat_template=tiny.chat_template)


REAL = {
    "idefics2": _idefics2,
    "llava_onevision": _llava_onevision,
    "internvl": _internvl,
    "gemma3n": _gemma3n,
    "gemma4": _gemma4,
    "gemma4_unified": _gemma4_unified,
    "lfm2_vl": _lfm2_vl,
    "qwen3_vl": _qwen3_vl,
    "qwen3_5": _qwen3_vl,  # transformers maps qwen3_5 and qwen3_5_moe to Qwen3VLProcessor
    "glm4v": _glm4v,
    "glm46v": _glm46v,
    "glm_ocr": _glm46v,  # GLM-OCR configures the Glm46V processor classes
    "mistral3": _mistral3,
    "paddleocr_vl": _paddleocr_vl,
    "ernie4_5_vl_moe": _ernie4_5_vl_moe,
    "deepseek_ocr2": _deepseek_ocr2,
    "minicpmv4_6": _minicpmv4_6,
    "molmo2": _molmo2,
    "hunyuan_vl": _hunyuan_vl,
    "ovis2_5": _ovis2_5,
}


def _glm4v_messages(messages: list[dict]) -> list[dict]:
    # GLM-4.1V's template writes system and assistant content with {{ msg.content }}: its users pass those
    # turns as plain strings (a list would be printed as a Python list). It closes no assistant turn: the
    # family appends <|endoftext|> after the final answer (the end of the render) so the model learns to
    # stop, and inserts nothing after earlier ones (the <|user|> the template writes next stops there).
    def text(m):
        return "".join(p.get("text", "") for p in m["content"])

    final = len(messages) - 1 if messages and messages[-1]["role"] == "assistant" else None
    return [
        m if m["role"] == "user" else {**m, "content": text(m) + ("<|endoftext|>" if k == final else "")}
        for k, m in enumerate(messages)
    ]


# How each template's users shape messages when it is not typed parts in every turn.
MESSAGE_SHAPE = {"glm4v": _glm4v_messages, "glm46v": _glm4v_messages, "glm_ocr": _glm4v_messages}
# Templates whose generation prompt holds what no answer in the history holds (Gemma 4 31B's empty
# thought channel): their users render the final answer as a completion of the inference prompt,
# prompt = apply_chat_template(history, add_generation_prompt=True), then the answer and this
# end-of-turn as the template closes a model turn.
# Molmo2 writes a history answer after " <|im_start|>assistant\n" but prompts with no space, and closes no
# answer: its users complete the prompt and stop at EOS (<|im_end|>).
PROMPT_COMPLETION = {"gemma4": "<turn|>\n", "gemma4_unified": "<turn|>\n", "molmo2": "<|im_end|>"}
# Tokens one 640x480 image becomes with those settings (checked against the processor in the test).
TOKENS_640x480 = {
    "idefics2": 5 * 64 + 6,  # 4 crops + the image, 64 latents each, 6 shared delimiters
    # base 27x27 + the 768x768 pinpoint's 54x54 features unpadded to 40 rows + 40 newlines
    "llava_onevision": 729 + 40 * 54 + 40,
    "internvl": (4 * 3 + 1) * 256 + 2,  # a 4x3 grid of 448 px tiles + the thumbnail, <img> and </img>
    "gemma3n": 256 + 2,  # fixed soft tokens + start/end of image, whatever the size
    "lfm2_vl": 234 + 2,  # one tile resized to 576x416: 18 x 13 tokens, + image start/end
    "gemma4": 266 + 2,  # resized to 912x672: 57 x 42 patches pooled 3 x 3, + start/end of image
    "gemma4_unified": 266 + 2,  # the same resize as gemma4
    "qwen3_vl": 300,  # sides already multiples of 32: grid 30x40 patches of 16, merged 2x2
    "qwen3_5": 300,
    "glm4v": 391,  # 644x476 after GLM's smart_resize (factor 28): grid 34x46, merged 2x2
    "glm46v": 391,  # as glm4v
    "glm_ocr": 391,  # as glm4v
    "mistral3": 18 * (23 + 1),  # ceil(480/28) rows of ceil(640/28) tokens, each closed by a break/end
    "paddleocr_vl": 391,  # 644x476 after smart_resize (factor 28): grid 34x46, merged 2x2
    "ernie4_5_vl_moe": 391,  # the same resize and merge
    "deepseek_ocr2": 256 + 1,  # not over 768 px: no crops; the 1024 px global view (16 x 16) + separator
    # <image_id>0</image_id> (3) + <image> 63 </image> (overview 392x504) + 1 x 2 slices of 392x560: 70 + 2 each
    "minicpmv4_6": 3 + 63 + 2 + 2 * (70 + 2),
    # low-res view 14 x 14 (+ a column token per row, start, end), 2 x 2 crops' canvas 23 x 23 (the same)
    "molmo2": 14 * 15 + 2 + 23 * 24 + 2,
    "hunyuan_vl": 15 * (20 + 1) + 2,  # grid 30x40 patches of 16, merged 2x2: 15 rows of 20 + a break, + 2
    "ovis2_5": 300 + 2,  # grid 30x40 patches of 16, merged 2x2, + <ovis_image_start>/<ovis_image_end>
}
