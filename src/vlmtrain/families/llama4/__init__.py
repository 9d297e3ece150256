"""Llama 4 (Scout 17B-16E, Maverick 17B-128E; Llama4ForConditionalGeneration): the template writes
`<|image|>` per image; Llama4Processor expands it to the image's 336 px tiles and a global view, each a
run of `<|patch|>` tokens (the model's image token: the vision features replace exactly those), framed by
`<|image_start|>`/`<|image_end|>` and the tile separators (header rule in tokens.py). The language model
is a mixture of experts (Scout: 16 routed + 1 shared per layer; Maverick: every other layer); its routed
experts are fused 3-D weights, not Linear layers, so LoRA's default targets are the attention projections
and the shared expert's gate/up/down inside the language model (`language_model.model`). The image
processor exists only torchvision-backed. Tiny model: tiny.py.

Its image processor returns bfloat16 pixels (it rescales and normalises in bfloat16, as Meta's reference
does) and the vision tower does not cast them, so a float32 model refuses them: `call_processor` hands
them over as float32, the same values (bfloat16 widens exactly), and a model loaded by the family casts
them to its vision tower's dtype (a forward pre-hook), as transformers' other VLMs do inside.

trl 1.16's SFTTrainer computes the loss from `model.base_model`'s hidden states, and this model keeps no
backbone there (its parts sit on the top model): `load_model` gives it one (backbone.py) that runs what
the model's forward runs before the LM head, registering no module, so names and checkpoints are unchanged.

Packing is refused: the RoPE layers (3 of 4) attend within fixed 8192-token chunks counted from the start
of the row (chunked attention), and the NoPE layers scale their queries by the token's place in the row
(attention temperature tuning), so a sample packed after others would see chunk borders and scales it
does not see alone.

Template: unverified. No copy of meta-llama/Llama-4-Scout-17B-16E-Instruct's published template is
proven byte for byte (ORIGIN.md, "Not found": transformers' Llama4Processor default and conversion
script, the GGUF copy with `\\n` escapes, and a later tool-calling version in Liger-Kernel's test config
differ), so the tiny model carries Llama4Processor's own default, which transformers' conversion script
writes too. It takes the system turn as a string (`messages[0]['content']|trim`; a list would reach it
through its first part only) and user and assistant turns as typed parts, written as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlmtrain.families.base import Family
from vlmtrain.families.llama4 import tiny, tokens
from vlmtrain.families.llama4.backbone import with_backbone


@dataclass
class Llama4Family(Family):
    """Llama 4: the processor's bfloat16 pixels reach the model as float32, and the loaded model gets a
    language backbone for trl's fused LM head (see the module docstring)."""

    def load_model(self, path, **kwargs):
        model = with_backbone(super().load_model(path, **kwargs))
        model.vision_model.register_forward_pre_hook(_pixels_as_weights)
        # Llama 4's own forward adds no load-balancing loss (sigmoid top-k routing plus a shared expert);
        # trl reads a non-zero coefficient as "add Mixtral's softmax one", which fits no Llama 4 router and
        # fails on its config (num_local_experts, not num_experts). Zero keeps training what the model defines.
        model.config.get_text_config().router_aux_loss_coef = 0.0
        return model

    def call_processor(self, processor, text: str, images: list, record: dict, videos=()) -> dict:
        out = super().call_processor(processor, text, images, record, videos)
        pixels = out.get("pixel_values")
        if pixels is not None and pixels.is_floating_point():
            out["pixel_values"] = pixels.float()
        return out


def _pixels_as_weights(vision_model, args):
    """The vision tower's pixels in its weights' dtype, as other VLMs cast them (a bfloat16 model run
    without autocast, e.g. an evaluation, gets the float32 pixels `call_processor` hands over)."""
    pixels, *rest = args
    return (pixels.to(vision_model.patch_embedding.linear.weight.dtype), *rest)


FAMILY = Llama4Family(
    name="llama4",
    model_types=("llama4",),
    image_token="<|patch|>",
    image_related_tokens=(
        "<|image_start|>",
        "<|image_end|>",
        "<|image|>",
        "<|tile_x_separator|>",
        "<|tile_y_separator|>",
    ),
    vision_tower="vision_model",
    projector="multi_modal_projector",
    language_model="language_model.model",
    fsdp_wrap_classes=("Llama4TextDecoderLayer", "Llama4VisionEncoderLayer"),
    model_class="Llama4ForConditionalGeneration",
    processor_class="Llama4Processor",
    string_content_roles=("system",),
    tiny=tiny.TINY,
    rule=tokens.RULE,
    image_backends=("torchvision",),
    supports_flash_attention_2=False,
    packing=None,
    packing_refusal="its RoPE layers attend within fixed 8192-token chunks counted from the start of the row "
    "(chunked attention) and its NoPE layers scale queries by the token's place in the row, so a sample "
    "packed after others would meet chunk borders and attention scales it does not have alone",
)
