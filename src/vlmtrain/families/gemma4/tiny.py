"""Tiny Gemma4: text 64 x 2 layers (sliding then full attention, per-layer embeddings shrunk), a 1-layer
vision encoder 32 wide at patch 4 with the real 3 x 3 pooling and the smallest soft-token budget the image
processor allows (70), so a ~100 x 100 px image becomes 70 soft tokens. No audio tower (the config allows
none; the processor still carries the audio feature extractor, as the real one does).
"""

from __future__ import annotations

from pathlib import Path

from vlmtrain.tiny.common import (
    VIDEO_PROCESSOR_DEFAULTS,
    TinyModel,
    save,
    text_config,
    train_tokenizer,
    vision_config,
)

END_OF_TURN = "<turn|>"
PATCH, POOLING, SOFT_TOKENS = 4, 3, 70
TINY_FRAMES = 4  # frames a video samples (the real checkpoints: 32; see `video_processor_config`)
SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<|turn>", "<turn|>", "<|channel>", "<channel|>"]
SPECIALS += ["<|image>", "<image|>", "<|image|>", "<|audio>", "<audio|>", "<|audio|>", "<|video|>"]


def video_processor_config(video_processor_type: str = "Gemma4VideoProcessor", num_frames: int = 32) -> dict:
    """`Gemma4VideoProcessor(patch_size=4)` as its save_pretrained writes it (the class defaults, which
    are the released checkpoints' video settings: 32 frames, 70 soft tokens a frame); gemma4_unified's
    video processor writes the same settings under its own `video_processor_type`. The gemma4 tiny model
    samples 4 frames (`num_frames`): the processor refuses a video of fewer frames than it samples, and
    the test clips are short; the real 32 is what tests/train/test_video_sampling.py checks."""
    return {
        **VIDEO_PROCESSOR_DEFAULTS,
        "do_sample_frames": True,
        "image_mean": [0.0, 0.0, 0.0],
        "image_std": [1.0, 1.0, 1.0],
        "max_soft_tokens": SOFT_TOKENS,
        "num_frames": num_frames,
        "patch_size": PATCH,
        "pooling_kernel_size": POOLING,
        "resample": 3,
        "video_processor_type": video_processor_type,
    }


def tokenizer():
    """The tiny BPE tokenizer with Gemma 4's special tokens and the processor's named image/audio tokens."""
    return train_tokenizer(
        SPECIALS,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
        extra_special_tokens={
            "image_token": "<|image|>",
            "boi_token": "<|image>",
            "eoi_token": "<image|>",
            "audio_token": "<|audio|>",
            "boa_token": "<|audio>",
            "eoa_token": "<audio|>",
        },
    )


def text_overrides() -> dict:
    """The tiny text tower's settings both Gemma 4 configs share: one KV head of 16, sliding (32) then
    full attention, bidirectional attention over each image's soft tokens."""
    return dict(
        num_key_value_heads=1,
        head_dim=16,
        global_head_dim=16,
        sliding_window=32,
        layer_types=["sliding_attention", "full_attention"],
        use_bidirectional_attention="vision",
    )


def special_ids(tok) -> dict:
    """The config's image/video/audio token ids: {"boi_token_id": ..., "audio_token_id": ...}."""
    ids = tok.convert_tokens_to_ids
    return dict(
        boi_token_id=ids("<|image>"),
        eoi_token_id=ids("<image|>"),
        image_token_id=ids("<|image|>"),
        video_token_id=ids("<|video|>"),
        boa_token_id=ids("<|audio>"),
        eoa_token_index=ids("<audio|>"),
        audio_token_id=ids("<|audio|>"),
    )


def build(out: Path) -> None:
    from transformers import (
        Gemma4AudioFeatureExtractor,
        Gemma4Config,
        Gemma4ForConditionalGeneration,
        Gemma4Processor,
    )
    from transformers.models.gemma4.image_processing_pil_gemma4 import Gemma4ImageProcessorPil

    from vlmtrain.encoding.compat import no_video_subclass

    tok = tokenizer()
    ip = Gemma4ImageProcessorPil(patch_size=PATCH, pooling_kernel_size=POOLING, max_soft_tokens=SOFT_TOKENS)
    processor = no_video_subclass(Gemma4Processor)(
        feature_extractor=Gemma4AudioFeatureExtractor(),
        image_processor=ip,
        tokenizer=tok,  # template: the family's real one (`Family.build_tiny`)
        image_seq_length=SOFT_TOKENS,
    )
    config = Gemma4Config(
        text_config=text_config(
            tok,
            model_type="gemma4_text",
            vocab_size_per_layer_input=len(tok),
            hidden_size_per_layer_input=8,
            **text_overrides(),
        ),
        vision_config=vision_config(
            model_type="gemma4_vision",
            num_key_value_heads=2,
            head_dim=16,
            patch_size=PATCH,
            pooling_kernel_size=POOLING,
            position_embedding_size=256,  # > the widest image's patches per side (840 px / 4)
        ),
        audio_config=None,
        **special_ids(tok),
    )
    video = video_processor_config(num_frames=TINY_FRAMES)
    save(out, Gemma4ForConditionalGeneration(config), processor, END_OF_TURN, video)


TINY = TinyModel(build, END_OF_TURN)
