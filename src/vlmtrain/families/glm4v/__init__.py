"""GLM-4.1V and GLM-4.5V (`glm4v`, `glm4v_moe`): `<|begin_of_image|><|image|> x N<|end_of_image|>`,
N = prod(image_grid_thw) / merge^2 from GLM's own smart_resize (tokens.py), with `Glm4vProcessor`.

The chat template (zai-org/GLM-4.1V-9B-Thinking's, carried by the tiny model) writes "[gMASK]<sop>" once
and closes no assistant turn: the next turn's "<|user|>" follows an answer directly (the template's lines
are trimmed), and the checkpoint stops generating on <|user|>, <|observation|> and <|endoftext|> (its
generation_config eos_token_id). Training inserts nothing between turns, so the tokens before every answer
are the real template's inference prompt (tested token for token), and the model learns to stop from what
it must produce there: an earlier answer is trained through the "<|user|>" the template writes after it
(`history_stop`), and the final answer, after which the template writes nothing, gets <|endoftext|>
appended after the whole render (`eos_after_final_answer`; no prefix changes). It writes system and
assistant content with `{{ msg.content }}`, so those turns are passed as strings (`string_content_roles`;
an image part there is refused: the template would print the part). The dense text MLP is
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
    eos_after_final_answer=True,
    history_stop="<|user|>",
    string_content_roles=("system", "assistant"),
    template=RealTemplate(
        "zai-org/GLM-4.1V-9B-Thinking", "official_chat_template of a renderer report, hash-verified"
    ),
    tiny=tiny.TINY,
    rule=replace(QWEN3_VL.rule, expand=tokens.expand),  # when it applies is Qwen2-VL's `unsupported`
    rope_index_class="Glm4vModel",
    rope_index_classes={"glm4v_moe": "Glm4vMoeModel"},
)
