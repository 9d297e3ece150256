"""Refusing message parts a family does not train on yet (video, audio), with the record that holds them.

Canonical records store parts as {"type", "text"} with a free-form type; the chat-template renderer
(`base.to_template_messages`) only knows "image" and "text", so any other part would silently become
empty text. Every family (`Family.refuse_parts`) says so here instead:

    refuse_parts({"id": "r7", "messages": [{"role": "user", "content": [{"type": "video", ...}]}]},
                 "glm4v")
      -> VlmTrainError("record 'r7' $.messages[0].content[0]: video parts are not supported yet by the
                        glm4v family (only text and image); ...")
    refuse_parts(<the same with an audio part>, "qwen3_vl", ("text", "image", "video"))
      -> VlmTrainError("... audio parts are not supported yet by the qwen3_vl family (only text, image and
                        video); drop the record")
"""

from __future__ import annotations

from vlmtrain.errors import VlmTrainError

SUPPORTED_PARTS = ("text", "image")


def refuse_parts(
    record: dict, family_name: str, supported: tuple[str, ...] = SUPPORTED_PARTS, reasons: dict | None = None
) -> None:
    """Raise VlmTrainError at the first part whose type is not in `supported` (text and image, plus video
    for a family with a video rule)."""
    for i, msg in enumerate(record.get("messages") or []):
        for j, part in enumerate(msg.get("content") or []):
            kind = part.get("type")
            if kind not in supported:
                # sampled frames can stand in for a video; nothing in an image+text record replaces audio
                fix = " or replace the part with sampled frames as images" if kind == "video" else ""
                only = " and ".join([", ".join(supported[:-1]), supported[-1]])
                raise VlmTrainError(
                    f"record {record.get('id')!r} $.messages[{i}].content[{j}]: {kind} parts are not "
                    f"supported yet by the {family_name} family (only {only})"
                    + (f": {reasons[kind]}" if reasons and reasons.get(kind) else "")
                    + "; drop the record"
                    + fix
                )
