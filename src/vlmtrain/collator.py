"""Layer 2 (collator): the training collator: canonical records -> a padded batch with labels, for any
registered family.

    VLMCollator(processor, resolve_family("qwen2_vl"), max_length=2048)(records)
      -> {"input_ids": [B, T], "attention_mask": [B, T], "labels": [B, T], "pixel_values": ..., ...}

labels are -100 everywhere except the assistant turns and their end-of-turn token (see
`vlmtrain.families.base`); `train_on_prompt=True` also trains on system/user text, never on image tokens
or padding. A record longer than `max_length` is an error naming it: cutting a sequence could split an
image's tokens from its pixels, so the run command filters long records before training.

keep_vision=True (sharded runs, see `vlmtrain.fsdp`): a batch without any image or video (the same vision
tower takes both) gets one label-free
image row, so every rank runs the vision tower and FSDP's collectives match across ranks.
"""

from __future__ import annotations

from vlmtrain.errors import VlmTrainError
from vlmtrain.families.base import Family


class VLMCollator:
    def __init__(
        self,
        processor,
        family: Family,
        max_length: int | None = None,
        train_on_prompt: bool = False,
        keep_vision: bool = False,
    ):
        self.processor = processor
        self.family = family
        self.max_length = max_length
        self.train_on_prompt = train_on_prompt
        self.keep_vision = keep_vision
        self._keepalive = None

    def __call__(self, records: list[dict]) -> dict:
        feats = []
        for rec in records:
            feat = self.family.encode_one(self.processor, rec, self.train_on_prompt)
            length = feat["input_ids"].shape[1]
            if self.max_length is not None and length > self.max_length:
                raise VlmTrainError(
                    f"record {rec.get('id')!r}: {length} tokens (images expanded) exceed max_length "
                    f"{self.max_length}; raise max_length, shrink the images, or filter long records "
                    "(`vlmtrain check` lists them)"
                )
            feats.append(feat)
        if self.keep_vision and not any(rec.get("images") or rec.get("videos") for rec in records):
            if self._keepalive is None:
                from vlmtrain.fsdp import keepalive_feature

                self._keepalive = keepalive_feature(self.family, self.processor)
            feats.append(self._keepalive)
        return dict(self.family.collate(self.processor, feats))
