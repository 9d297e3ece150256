"""Tiny Gemma3n: text 64 x 2 layers (AltUp, LAuReL and per-layer embeddings shrunk), the real MobileNet-v5
encoder (timm) at 1% width, its multi-scale fusion pooled to a 2x2 grid -> 4 soft tokens per image at 64 px and a
1-layer audio conformer (built because the model class always has one; audio inputs are refused).

Token ids follow the real layout: text tokens first, then the vision vocabulary (its first id is
`<end_of_image>`, then `<image_soft_token>`), then the audio vocabulary (`<end_of_audio>`,
`<audio_soft_token>`); ids at or above a vocabulary's offset are embedded by that modality's embedder.
"""

from __future__ import annotations

from pathlib import Path

from vlmtrain.tiny.common import TinyModel, save, text_config, train_tokenizer

END_OF_TURN = "<end_of_turn>"
IMAGE_SIZE, MM_TOKENS = 64, 4
TEXT_SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
TEXT_SPECIALS += ["<start_of_image>", "<start_of_audio>"]


def build(out: Path) -> None:
    from transformers import (
        Gemma3nAudioFeatureExtractor,
        Gemma3nConfig,
        Gemma3nForConditionalGeneration,
        Gemma3nProcessor,
        PreTrainedTokenizerFast,
    )
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    named = dict(bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<unk>")
    backend = train_tokenizer(TEXT_SPECIALS, **named).backend_tokenizer
    text_vocab = backend.get_vocab_size()
    # vision vocabulary [text_vocab, +2), audio vocabulary [text_vocab + 2, +2), as in the real checkpoint
    backend.add_special_tokens(
        ["<end_of_image>", "<image_soft_token>", "<end_of_audio>", "<audio_soft_token>"]
    )
    tok = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        **named,
        extra_special_tokens={
            "image_token": "<image_soft_token>",
            "boi_token": "<start_of_image>",
            "eoi_token": "<end_of_image>",
            "audio_token": "<audio_soft_token>",
            "boa_token": "<start_of_audio>",
            "eoa_token": "<end_of_audio>",
        },
    )
    ids = tok.convert_tokens_to_ids
    assert ids("<end_of_image>") == text_vocab and ids("<audio_soft_token>") == text_vocab + 3
    # The real checkpoint's image processor settings (convert_gemma3n_weights.py), at 64 px.
    ip = SiglipImageProcessorPil(
        size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        resample=2,  # bilinear
        do_normalize=False,
        image_mean=(0.5,) * 3,
        image_std=(0.5,) * 3,
    )
    # template: `Family.build_tiny` writes the real one
    processor = Gemma3nProcessor(
        feature_extractor=Gemma3nAudioFeatureExtractor(),
        image_processor=ip,
        tokenizer=tok,
        image_seq_length=MM_TOKENS,
        audio_seq_length=4,
    )
    config = Gemma3nConfig(
        text_config=text_config(
            tok,
            vocab_size=text_vocab + 4,
            vocab_size_per_layer_input=text_vocab,
            hidden_size_per_layer_input=8,
            num_key_value_heads=1,
            head_dim=16,
            sliding_window=32,
            laurel_rank=4,
            altup_num_inputs=2,
            num_kv_shared_layers=0,
            layer_types=["sliding_attention", "full_attention"],
        ),
        vision_config=dict(
            architecture="mobilenetv5_300m_enc",
            hidden_size=2048,  # the encoder's fusion adapter always emits 2048 channels
            vocab_size=2,
            vocab_offset=text_vocab,
            # The real encoder's 84 blocks at 1% width (timm's builder edits block_args in place, so a
            # custom block list cannot live in config.json; the width multiplier can): ~1.5M parameters,
            # most in the attention blocks' fixed 16 x 96 query/output projections.
            model_args={"channel_multiplier": 0.01, "msfa_output_resolution": 2},
        ),
        audio_config=dict(
            vocab_size=2,
            vocab_offset=text_vocab + 2,
            input_feat_size=128,
            hidden_size=16,
            conf_num_attention_heads=2,
            conf_num_hidden_layers=1,
            sscp_conv_channel_size=[4, 4],
        ),
        vision_soft_tokens_per_image=MM_TOKENS,
        audio_soft_tokens_per_image=4,
        boi_token_id=ids("<start_of_image>"),
        eoi_token_id=ids("<end_of_image>"),
        image_token_id=ids("<image_soft_token>"),
        boa_token_id=ids("<start_of_audio>"),
        eoa_token_id=ids("<end_of_audio>"),
        audio_token_id=ids("<audio_soft_token>"),
    )
    save(out, Gemma3nForConditionalGeneration(config), processor, END_OF_TURN)


TINY = TinyModel(build, END_OF_TURN)
