"""Gemma4: the template writes "<|image|>" for an image; the processor expands `<|image|>` to
`<|image>` + `<|image|>` x n + `<image|>` with n from the image's size and the soft-token budget (70 ..
1120, 280 on the released checkpoints; header rule in tokens.py). It returns `mm_token_type_ids` (1 on
soft tokens): with `use_bidirectional_attention="vision"` (the larger checkpoints) each image's tokens
attend to each other both ways, so packing is refused. Audio parts are refused with the record's id; LoRA covers only the language
model. Tiny model: tiny.py.

Videos (tokens.py `VIDEO`): frames sampled by Gemma4VideoProcessor's own `sample_frames` (transformers'
default: `num_frames` evenly, 32 on the released checkpoints, so a video of fewer frames is refused as the
processor refuses it; or `video_fps`), each resized into the video soft-token budget (70) as an image is,
and written as `MM:SS <|image>` + `<|video|>` x n + `<image|>` per frame. The frames of a batch's videos
are concatenated along one axis (`pixel_values_videos`, `video_position_ids`, split back by
`num_frames_per_video`), so the default collate is right and videos of any frame count batch together.

The tiny model carries google/gemma-4-31B-it's template (the E2B/E4B checkpoints publish a different
one, not held here). It writes the system text with `content | trim` (a list of parts would print as a
Python list), so the system turn is passed as a string. Its generation prompt, with thinking off (the
default), ends with an empty thought channel, "<|turn>model\\n<|channel>thought\\n<channel|>", that no
answer in the history holds: turns are found in the whole conversation's render and the final answer
follows that prompt (`base.WholeConversationFamily`, Qwen3.5's mechanism), so it is trained after exactly
the tokens the model is prompted with.
"""

from __future__ import annotations

from vlmtrain.families.base import WholeConversationFamily
from vlmtrain.families.gemma4 import tiny, tokens
from vlmtrain.families.real_template import RealTemplate

FAMILY = WholeConversationFamily(
    name="gemma4",
    model_types=("gemma4",),
    image_token="<|image|>",
    image_related_tokens=("<|image>", "<image|>"),
    projector="model.embed_vision",
    fsdp_wrap_classes=("Gemma4TextDecoderLayer", "Gemma4VisionEncoderLayer", "Gemma4AudioLayer"),
    model_class="Gemma4ForConditionalGeneration",
    processor_class="Gemma4Processor",
    string_content_roles=("system",),
    template=RealTemplate("google/gemma-4-31B-it", "llama.cpp models/templates, one copy"),
    tiny=tiny.TINY,
    rule=tokens.RULE,
    video=tokens.VIDEO,
    packing=None,
    packing_refusal="with use_bidirectional_attention='vision' (the larger checkpoints) each image's tokens "
    "attend to each other in both directions, and the image blocks are found from mm_token_type_ids over "
    "the whole row, so packed samples' masks cannot be kept apart exactly",
)
