"""Layer 4 (drivers): samples as the model sees them: trained tokens highlighted, masked ones dimmed, image
runs collapsed.

    view_records(records, processor, family, max_length=2048)
      -> [{"id": "a", "length": 342, "trained": 12,
           "segments": [{"kind": "masked", "text": "<|im_start|>user\\n"},
                        {"kind": "image", "text": "<image x300>", "tokens": 300},
                        {"kind": "trained", "text": "A cat.<|im_end|>"}, ...]}, ...]

The ids and labels come from the training collator itself (vlmtrain.collator.VLMCollator), so what
is shown is what trains. Rendering: `to_rich` for the terminal,
`to_html` for a page.
"""

from __future__ import annotations

import html

from vlmtrain.collator import VLMCollator
from vlmtrain.families import resolve_family

IGNORE_INDEX = -100


def _encode(processor, family, record: dict, max_length: int, train_on_prompt: bool) -> tuple[list, list]:
    # no max_length: show over-long samples whole (the report lists them; the run filters them)
    batch = VLMCollator(processor, family, None, train_on_prompt)([record])
    ids = batch["input_ids"][0].tolist()
    labels = batch["labels"][0].tolist()
    mask = batch.get("attention_mask")
    if mask is not None:
        keep = int(mask[0].sum())
        ids, labels = ids[:keep], labels[:keep]
    return ids, labels


def image_token_ids(processor, family) -> set[int]:
    """The repeated image token whose runs collapse to `<image xN>` (its delimiters stay visible)."""
    vocab = processor.tokenizer.get_vocab()
    return {vocab[family.image_token]} if family.image_token in vocab else set()


def segments(ids: list[int], labels: list[int], tokenizer, image_ids: set[int]) -> list[dict]:
    """Group consecutive tokens by kind (image / trained / masked) and decode each group once."""
    out: list[dict] = []
    i = 0
    while i < len(ids):
        if ids[i] in image_ids:
            j = i
            while j < len(ids) and ids[j] == ids[i]:
                j += 1
            out.append({"kind": "image", "text": f"<image x{j - i}>", "tokens": j - i})
        else:
            trained = labels[i] != IGNORE_INDEX
            j = i
            while j < len(ids) and ids[j] not in image_ids and (labels[j] != IGNORE_INDEX) == trained:
                j += 1
            text = tokenizer.decode(ids[i:j], skip_special_tokens=False, clean_up_tokenization_spaces=False)
            out.append({"kind": "trained" if trained else "masked", "text": text, "tokens": j - i})
        i = j
    return out


def view_records(records, processor, family, max_length: int, train_on_prompt: bool = False) -> list[dict]:
    family = resolve_family(family)
    tok = getattr(processor, "tokenizer", processor)
    image_ids = image_token_ids(processor, family)
    views = []
    for k, record in enumerate(records):
        ids, labels = _encode(processor, family, record, max_length, train_on_prompt)
        views.append(
            {
                "id": record.get("id") or str(k),
                "length": len(ids),
                "trained": sum(1 for x in labels if x != IGNORE_INDEX),
                "segments": segments(ids, labels, tok, image_ids),
            }
        )
    return views


STYLES = {"trained": "bold green", "masked": "dim", "image": "magenta"}


def to_rich(views: list[dict]):
    """A rich renderable: one panel per sample."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    panels = []
    for v in views:
        text = Text()
        for seg in v["segments"]:
            # a non-breaking space keeps "<image x729>" on one line when rich wraps
            shown = seg["text"].replace(" ", "\u00a0") if seg["kind"] == "image" else seg["text"]
            text.append(shown, style=STYLES[seg["kind"]])
        title = f"{v['id']}: {v['length']} tokens, {v['trained']} trained"
        panels.append(Panel(text, title=title, title_align="left"))
    legend = Text.assemble(
        ("trained", STYLES["trained"]),
        "  ",
        ("masked", STYLES["masked"]),
        "  ",
        ("<image xN>", STYLES["image"]),
    )
    return Group(legend, *panels)


HTML_HEAD = """<!doctype html>
<html><head><meta charset="utf-8"><title>vlmtrain check: labels</title><style>
body { font-family: sans-serif; margin: 2em; }
pre { white-space: pre-wrap; font-family: monospace; background: #fafafa; padding: 1em; border: 1px solid #ddd; }
.trained { color: #0a6b0a; font-weight: bold; background: #e6f7e6; }
.masked { color: #999; }
.image { color: #a0a; background: #f7e6f7; }
</style></head><body>
<h1>Samples as the model sees them</h1>
<p><span class="trained">trained tokens</span> &middot; <span class="masked">masked (-100)</span> &middot;
<span class="image">&lt;image xN&gt;</span> runs of image tokens</p>
"""


def to_html(views: list[dict]) -> str:
    parts = [HTML_HEAD]
    for v in views:
        parts.append(
            f"<h2>{html.escape(str(v['id']))}: {v['length']} tokens, {v['trained']} trained</h2>\n<pre>"
        )
        parts.extend(
            f'<span class="{seg["kind"]}">{html.escape(seg["text"])}</span>' for seg in v["segments"]
        )
        parts.append("</pre>\n")
    parts.append("</body></html>\n")
    return "".join(parts)
