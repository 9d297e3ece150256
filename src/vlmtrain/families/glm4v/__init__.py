"""GLM-4.1V and GLM-4.5V (`glm4v`, `glm4v_moe`): `<|begin_of_image|><|image|> x N<|end_of_image|>`,
N = prod(image_grid_thw) / merge^2 from GLM's own smart_resize (tokens.py), with `Glm4vProcessor`.

The chat template writes "[gMASK]<sop>" once and closes no assistant turn (generation stops at the next
<|user|> or <|endoftext|>), so <|endoftext|> is appended after each assistant turn and trained, as for
LLaVA-1.5. It writes system and assistant content with `{{ msg.content }}`, so those turns are passed
as strings (an image part there is refused: the template would print the part). The dense text MLP is
one fused `gate_up_proj`, which LoRA targets besides the attention and down projections. On GLM-4.5V
(MoE) peft 0.21 maps those names onto the routed experts' fused weights: seen on the tiny MoE model, it
wraps attention and the routed experts, and leaves the first dense layer's MLP and the shared experts
unwrapped. Packed rows take 4-row position ids from the model's own get_rope_index, as Qwen2-VL's do. Video parts are refused (not supported yet).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from vlmtrain.errors import VlmTrainError
from vlmtrain.families.base import LM_PROJ_NAMES, Family, render_template, to_template_messages
from vlmtrain.families.glm4v import tiny, tokens
from vlmtrain.families.qwen3_vl import FAMILY as QWEN3_VL


@dataclass
class Glm4vFamily(Family):
    """GLM's template handling: system and assistant turns rendered as strings, images in user turns only
    (Qwen3-VL's data otherwise: M-RoPE packing per model type, video parts refused)."""

    def render(self, processor, messages, add_generation_prompt):
        msgs = [
            m
            if m["role"] == "user"
            else {**m, "content": "".join(p["text"] for p in m["content"] if p["type"] == "text")}
            for m in to_template_messages(messages)
        ]
        return render_template(processor, msgs, add_generation_prompt)

    def refuse_parts(self, record):
        """An image outside a user turn first (the template would print the part), then the parts every
        image-and-text-only family refuses."""
        for i, msg in enumerate(record["messages"]):
            if msg["role"] != "user" and any(p["type"] == "image" for p in msg["content"]):
                raise VlmTrainError(
                    f"record {record.get('id')!r} $.messages[{i}]: an image in a {msg['role']} turn; the "
                    f"{self.name} chat template takes images in user turns only"
                )
        super().refuse_parts(record)


FAMILY = QWEN3_VL.derive(
    Glm4vFamily,
    name="glm4v",
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
    tiny=tiny.TINY,
    rule=replace(QWEN3_VL.rule, expand=tokens.expand),  # when it applies is Qwen2-VL's `unsupported`
    rope_index_class="Glm4vModel",
    rope_index_classes={"glm4v_moe": "Glm4vMoeModel"},
)
