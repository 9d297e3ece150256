"""Tiny Gemma 4 unified: text 64 x 2 layers (sliding then full attention) with bidirectional attention
over each image's soft tokens (`use_bidirectional_attention="vision"`, the checkpoint's), and the
encoder-free vision embedder (layer norms, a dense layer 32 wide over raw 12 px merged patches, factorized
2-D position embeddings, projection) at patch 4, the real 3 x 3 pooling and the smallest soft-token budget
the image processor allows (70). No audio embedder (the config allows none; the processor still carries
the audio feature extractor, as the real one does). The template: google/gemma-4-31B-it's (held for the
gemma4 family), since the 12B's own is not verified here (see the family's docstring).
"""

from __future__ import annotations

from pathlib import Path

from vlmtrain.families.gemma4.tiny import SPECIALS
from vlmtrain.tiny.common import VIDEO_PROCESSOR_DEFAULTS, TinyModel, save, text_config, train_tokenizer

END_OF_TURN = "<turn|>"
PATCH, POOLING, SOFT_TOKENS = 4, 3, 70


def video_processor_config() -> dict:
    """`Gemma4UnifiedVideoProcessor(patch_size=4)` as its save_pretrained writes it (the class defaults:
    32 frames, 70 soft tokens a frame, no normalization)."""
    return {
        **VIDEO_PROCESSOR_DEFAULTS,
        "do_sample_frames": True,
        "image_mean": [0.0, 0.0, 0.0],
        "image_std": [1.0, 1.0, 1.0],
        "max_soft_tokens": SOFT_TOKENS,
        "num_frames": 32,
        "patch_size": PATCH,
        "pooling_kernel_size": POOLING,
        "resample": 3,
        "video_processor_type": "Gemma4UnifiedVideoProcessor",
    }


def build(out: Path) -> None:
    from transformers import (
        Gemma4UnifiedAudioFeatureExtractor,
        Gemma4UnifiedConfig,
        Gemma4UnifiedForConditionalGeneration,
        Gemma4UnifiedImageProcessor,
        Gemma4UnifiedProcessor,
    )

    from vlmtrain.encoding.compat import no_video_subclass
    from vlmtrain.families.real_template import RealTemplate

    tok = train_tokenizer(
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
    ip = Gemma4UnifiedImageProcessor(
        patch_size=PATCH,
        pooling_kernel_size=POOLING,
        max_soft_tokens=SOFT_TOKENS,
        resample=3,
        do_normalize=False,
        image_mean=[0.0, 0.0, 0.0],
        image_std=[1.0, 1.0, 1.0],
    )
    processor = no_video_subclass(Gemma4UnifiedProcessor)(
        feature_extractor=Gemma4UnifiedAudioFeatureExtractor(),
        image_processor=ip,
        tokenizer=tok,
        chat_template=RealTemplate("google/gemma-4-31B-it", "").text(),
        image_seq_length=SOFT_TOKENS,
    )
    ids = tok.convert_tokens_to_ids
    config = Gemma4UnifiedConfig(
        text_config=text_config(
            tok,
            model_type="gemma4_unified_text",
            num_key_value_heads=1,
            head_dim=16,
            global_head_dim=16,
            sliding_window=32,
            layer_types=["sliding_attention", "full_attention"],
            use_bidirectional_attention="vision",
        ),
        vision_config={
            "model_type": "gemma4_unified_vision",
            "patch_size": PATCH,
            "pooling_kernel_size": POOLING,
            "mm_embed_dim": 32,
            "output_proj_dims": 32,
            "mm_posemb_size": 256,  # > the widest image's merged patches per side
        },
        audio_config=None,
        boi_token_id=ids("<|image>"),
        eoi_token_id=ids("<image|>"),
        image_token_id=ids("<|image|>"),
        video_token_id=ids("<|video|>"),
        boa_token_id=ids("<|audio>"),
        eoa_token_index=ids("<audio|>"),
        audio_token_id=ids("<|audio|>"),
    )
    save(out, Gemma4UnifiedForConditionalGeneration(config), processor, END_OF_TURN, video_processor_config())


TINY = TinyModel(build, END_OF_TURN)
