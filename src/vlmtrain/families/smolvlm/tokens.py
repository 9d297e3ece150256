"""SmolVLM2's video rule (`SmolVLMProcessor.replace_video_token`): a video becomes an intro naming its
frame count in words and its duration, then per sampled frame its timestamp and the frame as one global
image (no splitting), then a blank line:

    <video>  ->  "You are provided the following series of three frames from a 0:00:02 [H:MM:SS] video.\\n"
                 + ("\\nFrame from 00:01:" + "<fake_token_around_image><global-img>" + "<image>" x image_seq_len
                    + "<fake_token_around_image>") per frame + "\\n\\n"

timestamps `int(index / fps)` as MM:SS, the duration `int(duration)` seconds. Each frame is resized by the
video processor's own two-step resize (longest edge to `size`, then the `max_image_size` square), so
every frame is max_image_size x max_image_size.
"""

from __future__ import annotations

from datetime import timedelta

from vlmtrain.encoding.expansion import Expansion
from vlmtrain.encoding.video import VideoRule


def video_resize(vp, num_frames: int, height: int, width: int) -> tuple[int, int]:
    side = vp.max_image_size["longest_edge"]
    return side, side


def video_expand(processor, plan) -> Expansion:
    from num2words import num2words

    stamps = [int(i / plan.fps) for i in plan.indices]
    intro = (
        f"You are provided the following series of {num2words(len(stamps))} frames from a "
        f"{timedelta(seconds=int(plan.duration))} [H:MM:SS] video.\n"
    )
    fake, glob, image = processor.fake_image_token, processor.global_image_token, processor.image_token
    frames = "".join(f"\nFrame from {s // 60:02d}:{s % 60:02d}:{fake}{glob}{image}{fake}" for s in stamps)
    text = intro + frames + "\n\n"
    extra = len(stamps) * (processor.image_seq_len - 1)
    framing = len(processor.tokenizer(text, add_special_tokens=False)["input_ids"])
    return Expansion(text=text, extra=extra, image_tokens=framing + extra)


VIDEO = VideoRule(resize=video_resize, expand=video_expand, own_size=True)
