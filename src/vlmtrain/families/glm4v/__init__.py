"""GLM-4.1V and GLM-4.5V (`glm4v`, `glm4v_moe`): `<|begin_of_image|><|image|> x N<|end_of_image|>`,
N = prod(image_grid_thw) / merge^2 from GLM's own smart_resize (tokens.py), with `Glm4vProcessor`.

The chat template (zai-org/GLM-4.1V-9B-Thinking's, carried by the tiny model) writes "[gMASK]<sop>" once
and closes no assistant turn (generation stops at the next <|user|> or <|endoftext|>), so <|endoftext|>
is appended after each assistant turn and trained, as for LLaVA-1.5: the final answer of a record is
followed by nothing in the template, and without a trained stop token there the model never learns to
end. After an earlier answer the real history holds the next "<|user|>" instead, so there the inserted
token is the only difference from the real template's inference prompt (tested). It writes system and
assistant content with `{{ msg.content }}`, so those turns are passed as strings
(`string_content_roles`; an image part there is refused: the template would print the part). The dense text MLP is
one fused `gate_up_proj`, which LoRA targets besides the attention and down projections. On GLM-4.5V
(MoE) peft 0.21 maps those names onto the routed experts' fused weights: seen on the tiny MoE model, it
wraps attention and the routed experts, and leaves the first dense layer's MLP and the shared experts
unwrapped. Packed rows take 4-row position ids from the model's own get_rope_index, as Qwen2-VL's do. Video parts are refused (not supported yet).
"""

from __future__ import annotations

from dataclasses import replace

from vlmtrain.families.base import LM_PROJ_NAMES
from vlmtrain.families.glm4v import tiny, tokens
from vlmtrain.families.qwen3_vl import FAMILY as QWEN3_VL
from vlmtrain.families.real_template import RealTemplate

FAMILY = QWEN3_VL.derive(
    name="glm4v",
    # tokens.py `VIDEO` samples, resizes and counts exactly as Glm4vVideoProcessor (tested), but the model
    # cannot train on it: transformers' Glm4vModel takes its video mask to be its image mask.
    video=None,
    video_refusal="transformers' Glm4vModel matches image features against video frames' tokens too (the "
    "same <|image|> token), so a batch holding images and videos fails in the model",
    model_types=("glm4v", "glm4v_moe"),
    image_token="<|image|>",
    image_related_tokens=("<|begin_of_image|>", "<|end_of_image|>", "<|video|>"),
    fsdp_wrap_classes=(
        "Glm4vTextDecoderLayer",
        "Glm4vVisionBlock",
        "Glm4vMoeTextDecoderLayer",
        "Glm4vMoeVisionBlock",
    ),
    model_class="Glm4vForConditionalGeneration",
    model_classes={"glm4v_moe": "Glm4vMoeForConditionalGeneration"},
    processor_class="Glm4vProcessor",
    lora_projections=(*LM_PROJ_NAMES, "gate_up_proj"),
    add_eos_after_assistant=True,
    string_content_roles=("system", "assistant"),
    template=RealTemplate(
        "zai-org/GLM-4.1V-9B-Thinking", "official_chat_template of a renderer report, hash-verified"
    ),
    tiny=tiny.TINY,
    rule=replace(QWEN3_VL.rule, expand=tokens.expand),  # when it applies is Qwen2-VL's `unsupported`
    rope_index_class="Glm4vModel",
    rope_index_classes={"glm4v_moe": "Glm4vMoeModel"},
)
