"""MiniCPM-V 4.6 (openbmb/MiniCPM-V-4.6; MiniCPMV4_6ForConditionalGeneration): the template writes
`<|image_pad|>` per image; MiniCPMV4_6Processor replaces it with the image's id, an overview of the whole
image (resized to about 448 x 448 px) and, for an image larger than that, up to 9 slices of about 448 px
in rows, each a run of `<|image_pad|>` framed by `<image>`/`</image>` or `<slice>`/`</slice>` (header rule
in tokens.py). Vision: a SigLIP-style tower with a window-attention merger (`model.vision_tower`) and
the merger MLP onto the text width (`model.merger`); language model: Qwen3.5's hybrid text model
(`model.language_model`: Gated DeltaNet linear-attention layers and every fourth one full attention),
so LoRA targets the full-attention and MLP projections and the linear-attention input (qkv, z) and
output projections, inside the language model only.

Collate: the processor packs every view of every image into ONE row of patches, pixel_values
[1, 3, patch, sum of the views' h x w patches], with target_sizes [views, 2] giving each view's patch
grid; the vision tower reads them as one sequence cut by target_sizes. Samples are therefore joined
along the last dim (and target_sizes along dim 0), not stacked as the default collate would: that is
one behaviour this family overrides. The other: labels. The processor writes each image's id as text,
`<image_id>1</image_id>`, between adjacent images' runs, where the template has none; for carrying the
labels over (`labels_for`) the id's tokens count as image tokens, so adjacent images stay one run as in
the template's text (they are prompt tokens and never carry a label).

Packing: refused, the Gated DeltaNet layers run one recurrent state along the whole row (as Qwen3.5).
Video: refused. The processor takes video, but writes each frame as an overview plus slices with its own
sampling, which the Qwen families' video rule (encoding/video.py) does not follow; no exact rule yet.
The processor class needs a video processor, which needs torchvision (`needs_torchvision`).

Not claimed: `minicpmv4_7` (MiniCPM-V 4.7). Its processor writes the same placeholders, but its model
builds 3-D position ids from `mm_token_type_ids` and its own vision position ids, which the tiny model
here does not exercise; it stays unregistered until it has its own tiny model and checks.

Template: unverified. No copy of openbmb/MiniCPM-V-4.6's published chat template is held (a search of the public
code corpus, transformers' processor test included, found none), so the tiny
model carries a ChatML one of ours (tiny.py) that takes every role as typed parts.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlmtrain.families.base import LM_PROJ_NAMES, Family
from vlmtrain.families.minicpmv4_6 import tiny, tokens

LINEAR_ATTENTION_PROJ = ("in_proj_qkv", "in_proj_z", "out_proj")


@dataclass
class MiniCPMV4_6Family(Family):
    """MiniCPM-V 4.6: samples' pixel_values are joined along the patch dim, and image ids count as image
    tokens when labels are carried over (see the module docstring).

        [{"pixel_values": [1, 3, 14, 1920], "target_sizes": [4, 2], ...},
         {"pixel_values": [1, 3, 14, 896], "target_sizes": [2, 2], ...}]
          -> {"pixel_values": [1, 3, 14, 2816], "target_sizes": [6, 2], ...}
    """

    def collate(self, processor, feats: list[dict]):
        import torch

        pixels = [f["pixel_values"] for f in feats if f.get("pixel_values") is not None]
        rest = [{k: v for k, v in f.items() if k != "pixel_values"} for f in feats]
        batch = super().collate(processor, rest)
        if pixels:
            batch["pixel_values"] = torch.cat(pixels, dim=-1)
        return batch

    def labels_for(self, processor, text, spans, e_ids, record, plain=None):
        """`e_ids` with every `<image_id>k</image_id>` stretch read as image tokens, then the default."""
        tok = processor.tokenizer
        start, end, image = tok.convert_tokens_to_ids(
            [processor.image_id_start_token, processor.image_id_end_token, self.image_token]
        )
        ids, inside = list(e_ids), False
        for i, t in enumerate(ids):
            inside = inside or t == start
            if inside:
                ids[i] = image
            inside = inside and t != end
        return super().labels_for(processor, text, spans, ids, record, plain)


FAMILY = MiniCPMV4_6Family(
    name="minicpmv4_6",
    model_types=("minicpmv4_6",),
    image_token="<|image_pad|>",
    image_related_tokens=(
        "<image>",
        "</image>",
        "<slice>",
        "</slice>",
        "<image_id>",
        "</image_id>",
        "<|video_pad|>",
    ),
    vision_tower="model.vision_tower",
    projector="model.merger",
    language_model="model.language_model",
    fsdp_wrap_classes=(
        "Qwen3_5DecoderLayer",
        "MiniCPMV4_6VisionEncoderLayer",
    ),
    model_class="MiniCPMV4_6ForConditionalGeneration",
    processor_class="MiniCPMV4_6Processor",
    needs_torchvision=True,
    lora_projections=LM_PROJ_NAMES + LINEAR_ATTENTION_PROJ,
    tiny=tiny.TINY,
    rule=tokens.RULE,
    packing=None,
    packing_refusal="its Gated DeltaNet linear-attention layers run one recurrent state along the whole "
    "row, so a packed sample would read the state left by the samples before it",
    video_refusal="MiniCPM-V 4.6 writes each frame as an overview plus slices, which no exact video rule "
    "here follows yet",
)
