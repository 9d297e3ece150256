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

from vlmtrain.families.gemma4.tiny import (
    END_OF_TURN,
    PATCH,
    POOLING,
    SOFT_TOKENS,
    special_ids,
    text_overrides,
    tokenizer,
    video_processor_config,
)
from vlmtrain.tiny.common import TinyModel, save, text_config


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

    tok = tokenizer()
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
    config = Gemma4UnifiedConfig(
        text_config=text_config(
            tok,
            model_type="gemma4_unified_text",
            **text_overrides(),
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
        **special_ids(tok),
    )
    video = video_processor_config("Gemma4UnifiedVideoProcessor")  # the class defaults, as gemma4's
    save(out, Gemma4UnifiedForConditionalGeneration(config), processor, END_OF_TURN, video)


TINY = TinyModel(build, END_OF_TURN)
