"""HuggingFaceM4/the_cauldron: 50 subsets (configs), multi-turn, sometimes several images per row.

    {"images": [img0, img1], "texts": [{"user": "Q1", "assistant": "A1", "source": "NLVR2"},
                                       {"user": "Q2", "assistant": "A2", "source": "NLVR2"}]}
      -> messages: user [image, image, "Q1"], assistant ["A1"], user ["Q2"], assistant ["A2"]
         images: [img0, img1]; source: "the_cauldron/nlvr2"

All of a row's images go at the start of the first user turn (the dataset does not say where they
belong; that is also where Idefics2, which the_cauldron was made for, put them).
"""

from __future__ import annotations

from vlmdata.errors import UsageError
from vlmdata.record import image_part, make_record, text_part
from vlmdata.sources.base import RowRef, Source


class TheCauldron(Source):
    NAME = "the_cauldron"
    REPO = "HuggingFaceM4/the_cauldron"
    READS = ("subsets", "repo")
    DESCRIPTION = "50 multi-turn VQA/OCR/chart subsets; pick them with --subset NAME (repeatable) or all"

    def configs(self, available: list[str]) -> list[str | None]:
        if not self.opts.subsets:
            raise UsageError(
                "the_cauldron needs --subset NAME (repeatable) or --subset all; subsets: "
                + ", ".join(available)
            )
        return self.asked_configs(
            available,
            lambda unknown: (
                f"unknown the_cauldron subset(s): {', '.join(unknown)}; valid subsets: {', '.join(available)}"
            ),
        )

    def label(self, config: str | None) -> str:
        return f"{self.NAME}/{config}"

    def to_record(self, row: dict, ref: RowRef) -> dict:
        images = [dict(im) for im in row["images"] or []]
        messages = []
        for k, turn in enumerate(row["texts"] or []):
            user = [image_part() for _ in images] if k == 0 else []
            if turn["user"]:
                user.append(text_part(turn["user"]))
            messages.append({"role": "user", "content": user})
            messages.append({"role": "assistant", "content": [text_part(turn["assistant"] or "")]})
        return make_record(ref.id(ref.config), messages, images, self.label(ref.config))
