"""Tiny Mistral Small 3.1: Mistral text 64 x 2 layers, Pixtral vision 32 x 1 layer, patch 14 with the real
2x2 spatial merge (28 px per image token) at longest_edge 112 -> at most 4 x 4 image tokens plus a
break/end token per row; Mistral Small 3.1's template and special tokens."""

from __future__ import annotations

from pathlib import Path

from vlmtrain.tiny.common import TinyModel, save, text_config, train_tokenizer, vision_config

END_OF_TURN = "</s>"
LONGEST_EDGE, PATCH, MERGE = 112, 14, 2
# Tekken's control tokens the template and processor use (ids differ from the real vocabulary's).
SPECIALS = [
    "<unk>",
    "<s>",
    "</s>",
    "[INST]",
    "[/INST]",
    "[IMG]",
    "<pad>",
    "[IMG_BREAK]",
    "[IMG_END]",
    "[SYSTEM_PROMPT]",
    "[/SYSTEM_PROMPT]",
]


def build(out: Path) -> None:
    from transformers import Mistral3Config, Mistral3ForConditionalGeneration, PixtralProcessor
    from transformers.models.pixtral.image_processing_pixtral import PixtralImageProcessor

    # The template writes BOS itself, so the tokenizer adds none (as Gemma3's tiny one): a bare
    # processor(text=rendered) call then has exactly one BOS, as the collator's ids do.
    tok = train_tokenizer(SPECIALS, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>")
    ip = PixtralImageProcessor(
        size={"longest_edge": LONGEST_EDGE}, patch_size={"height": PATCH, "width": PATCH}, resample=3
    )
    # template: `Family.build_tiny` writes the real one
    processor = PixtralProcessor(
        image_processor=ip,
        tokenizer=tok,
        patch_size=PATCH,
        spatial_merge_size=MERGE,
    )
    config = Mistral3Config(
        text_config=text_config(tok, model_type="mistral", head_dim=16, sliding_window=None),
        vision_config=vision_config(
            model_type="pixtral",
            head_dim=16,
            patch_size=PATCH,
            image_size=LONGEST_EDGE,
        ),
        image_token_index=tok.convert_tokens_to_ids("[IMG]"),
        spatial_merge_size=MERGE,
        vision_feature_layer=-1,
        tie_word_embeddings=False,
    )
    save(out, Mistral3ForConditionalGeneration(config), processor, END_OF_TURN)


TINY = TinyModel(build, END_OF_TURN)
