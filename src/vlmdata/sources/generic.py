"""Any Hub repo (`hub:<org>/<name>`) or local folder: rows already in a format, or mapped by columns.

A row already in one of the formats (OAI messages, ShareGPT, LLaVA; detected per row) is read by that
format's module. Otherwise the row is shaped by a column map (`--columns image=img,text=caption`), or by
the column names when they are the usual ones:

    caption         image + text               -> user [image, prompt],   assistant [text]
    classification  image + label (ClassLabel)  -> user [image, question], assistant [label name]
    vqa             image + question + answer   -> user [image, question], assistant [answer]

An image column may hold one image or a list of images (all go at the start of the user turn).
"""

from __future__ import annotations

from pathlib import Path

from vlmdata.errors import UsageError
from vlmdata.formats import FORMATS, format_of
from vlmdata.formats.base import ReadContext
from vlmdata.record import image_part, make_record, text_part
from vlmdata.sources.base import RowRef, Source, SourceOptions, pick
from vlmdata.sources.captions import PROMPTS
from vlmdata.sources.food101 import humanize

ROLES = ("image", "text", "question", "answer", "label")
QUESTIONS = ["What is in this image?", "What is shown here?", "What does this picture show?"]
_USUAL = {"image": ("image", "images", "img"), "text": ("text", "caption"), "question": ("question",),
          "answer": ("answer", "answers"), "label": ("label",)}  # fmt: skip


def parse_columns(spec: str | None) -> dict[str, str]:
    """ "image=img,text=caption" -> {"image": "img", "text": "caption"}"""
    if not spec:
        return {}
    out = {}
    for item in spec.split(","):
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not value or key not in ROLES:
            raise UsageError(
                f"bad --columns entry {item!r}: write ROLE=COLUMN pairs separated by commas, with ROLE one "
                f"of {', '.join(ROLES)} (e.g. --columns image=img,question=q,answer=a)"
            )
        out[key] = value
    return out


class Generic(Source):
    NAME = "hub"
    DESCRIPTION = (
        "hub:<org>/<name> or a local folder: OAI/ShareGPT/LLaVA rows, or caption/classification/VQA columns"
    )
    WHAT = "a hub:<org>/<name> or local folder source"
    READS = ("subsets", "columns", "prompt")

    def __init__(self, opts: SourceOptions, target: str):
        super().__init__(opts)
        self.repo = target
        self.local = not target.startswith("hub:")
        self.repo = target if self.local else target[4:]
        self.shape: str | None = None
        self.cols: dict[str, str] = {}
        self.label_names: list[str] | None = None

    def configs(self, available: list[str]) -> list[str | None]:
        asked = self.asked_configs(
            available,
            lambda unknown: (
                f"{self.repo} has no config(s) {', '.join(unknown)}; its configs: {', '.join(available)}"
            ),
        )
        if asked:
            return asked
        if len(available) > 1:
            raise UsageError(
                f"{self.repo} has several configs; pick with --subset NAME: {', '.join(available)}"
            )
        return [None]

    def label(self, config: str | None) -> str:
        name = Path(self.repo).name if self.local else self.repo
        return f"{name}/{config}" if config and config != "default" else name

    def id_prefix(self, config: str | None) -> str:
        return self.label(config).replace("/", "-")

    def prepare(self, features) -> None:
        available = list(features or {})
        cols = dict(self.opts.columns)
        missing = {role: c for role, c in cols.items() if c not in available}
        if missing:
            wrong = ", ".join(f"{role}={c}" for role, c in missing.items())
            raise UsageError(
                f"--columns names column(s) that {self.repo} does not have: {wrong}; "
                f"its columns are: {', '.join(available)}"
            )
        if not cols and ("messages" in available or "conversations" in available):
            self.shape = "format"
            return
        for role, names in _USUAL.items():
            if role not in cols:
                found = next((n for n in names if n in available), None)
                if found:
                    cols[role] = found
        if "image" not in cols:
            raise UsageError(
                f"{self.repo}: no image column found among {', '.join(available)}; "
                f"name it with --columns image=COLUMN"
            )
        if "question" in cols and "answer" in cols:
            self.shape = "vqa"
        elif "text" in cols:
            self.shape = "caption"
        elif "label" in cols or "answer" in cols:
            self.shape = "classification"
            cols.setdefault("label", cols.get("answer"))
            names = getattr(features.get(cols["label"]), "names", None)
            self.label_names = [humanize(n) for n in names] if names else None
        else:
            raise UsageError(
                f"{self.repo}: cannot tell what the rows are (columns: {', '.join(available)}); map them with "
                f"--columns image=..,text=.. (caption), image=..,label=.. (classification) or "
                f"image=..,question=..,answer=.. (VQA)"
            )
        self.cols = cols

    def to_record(self, row: dict, ref: RowRef) -> dict:
        rid = ref.id(self.id_prefix(ref.config))
        if self.shape == "format":
            ctx = ReadContext(self.repo, Path("/"), Path(self.repo), ref.row, None)
            fmt = format_of(row, ctx, fix="map its columns with --columns")
            raw = {k: v for k, v in row.items() if v is not None}
            raw.setdefault("id", rid)
            rec = FORMATS[fmt].to_canonical(raw, ctx)
            rec["source"] = rec["source"] or self.label(ref.config)
            return rec
        value = row[self.cols["image"]]
        images = [dict(v) for v in value] if isinstance(value, list) else [dict(value)]
        if self.shape == "caption":
            prompt = self.opts.prompt or pick(PROMPTS, rid, self.opts.seed)
            question, answer = prompt, row[self.cols["text"]]
        elif self.shape == "vqa":
            question, answer = row[self.cols["question"]], row[self.cols["answer"]]
            if isinstance(answer, list):  # VQA sets often list several annotators' answers: keep the first
                answer = answer[0] if answer else ""
        else:
            label = row[self.cols["label"]]
            answer = self.label_names[label] if self.label_names and isinstance(label, int) else str(label)
            question = self.opts.prompt or pick(QUESTIONS, rid, self.opts.seed)
        messages = [
            {"role": "user", "content": [*(image_part() for _ in images), text_part(str(question))]},
            {"role": "assistant", "content": [text_part(str(answer if answer is not None else ""))]},
        ]
        return make_record(rid, messages, images, self.label(ref.config))
