"""`vlmtrain check` and the collator cannot disagree: no record the check passes is refused by the collator,
and the lengths it reports are the collator's, for every registered family and both image-processor
backends."""

from __future__ import annotations

import io

import pytest
from family_records import ALL, LATER_IMAGE, LATER_IMAGES_ONLY, MULTI_TURN, SINGLE, png_dict
from tokens_helpers import granite_tokenizer_with_gemma3_tokens

from vlmtrain.families import NAMES

pytestmark = pytest.mark.train


def _stored(record: dict) -> dict:
    """A record as our shards hold it: every image as {"bytes", "path"} (what the header reader needs)."""
    images = []
    for k, img in enumerate(record["images"]):
        if isinstance(img, dict):
            images.append(img)
            continue
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        images.append({"bytes": buf.getvalue(), "path": f"{record['id']}-{k}.png"})
    return {**record, "images": images}


def _variants() -> list[dict]:
    """The contract records plus shapes the collator refuses for some or all families."""
    no_answer = {**SINGLE, "id": "no-answer", "messages": SINGLE["messages"][:1]}
    short = {**LATER_IMAGE, "id": "too-few-images", "images": LATER_IMAGE["images"][:1]}
    three_turns = {
        **MULTI_TURN,
        "id": "image-every-turn",
        "messages": [*LATER_IMAGE["messages"], *LATER_IMAGES_ONLY["messages"][3:]],
        "images": [*LATER_IMAGE["images"], *LATER_IMAGES_ONLY["images"]],
    }
    big = {**SINGLE, "id": "bigger-image", "images": [png_dict("green", 300)]}
    return [_stored(r) for r in [*ALL, no_answer, short, three_turns, big]]


def _collator_outcome(collator, record):
    from vlmtrain.errors import VlmTrainError

    try:
        return int(collator([record])["attention_mask"].sum())
    except VlmTrainError as exc:
        return exc


@pytest.mark.parametrize("name", NAMES)
def test_no_record_check_passes_is_refused_by_the_collator(tiny_processor, name):
    from vlmtrain.collator import VLMCollator
    from vlmtrain.tokens import preflight

    fam, proc = tiny_processor(name)
    records = _variants()
    report = preflight(records, proc, fam, max_length=100_000)
    passed = {c.id: c.length for c in report.counts}
    refused = {p.where.record for p in report.problems}
    collator = VLMCollator(proc, fam)
    outcome = {r["id"]: _collator_outcome(collator, r) for r in records}
    # every record is either counted or refused by the check, never both, never neither
    assert len(passed) + len(refused) == len(records)
    for rid, length in passed.items():
        assert outcome[rid] == length, (
            f"{name}: check passed {rid!r} as {length} tokens, collator: {outcome[rid]}"
        )
    for i in refused:
        assert isinstance(outcome[records[i]["id"]], Exception), f"{name}: check refused {records[i]['id']!r}"
    # the later-turn image records are trained by every family that trains multi-turn records
    if fam.multi_turn:
        later = {"later-image", "later-images-only", "image-every-turn"}
        if not fam.supports_system:  # later-images-only opens with a system turn (Molmo2 takes none)
            later.discard("later-images-only")
        assert later <= set(passed)


def test_check_refuses_what_the_collator_cannot_label_on_a_real_bpe_tokenizer():
    """A processor whose expansion merges into the assistant's last word (here: "s" glued to the image
    sequence, so " square" + "s" becomes Granite's " squares"): the collator cannot place the trained
    token, and the check, running the same label step on the header rule's expansion, refuses it first."""
    from transformers import Gemma3Processor
    from transformers.models.gemma3.image_processing_pil_gemma3 import Gemma3ImageProcessorPil

    from vlmtrain.collator import VLMCollator
    from vlmtrain.families import resolve_family
    from vlmtrain.tokens import preflight

    tok = granite_tokenizer_with_gemma3_tokens()
    # no separators between turns: the assistant's text touches the next turn's image
    template = (
        "{% for m in messages %}{% for c in m['content'] %}{% if c['type'] == 'image' %}<start_of_image>"
        "{% else %}{{ c['text'] }}{% endif %}{% endfor %}{% endfor %}"
    )
    proc = Gemma3Processor(
        image_processor=Gemma3ImageProcessorPil(size={"height": 32, "width": 32}),
        tokenizer=tok,
        chat_template=template,
        image_seq_length=4,
    )
    proc.full_image_sequence = "s" + proc.full_image_sequence
    fam = resolve_family("gemma3")
    glued = _stored(LATER_IMAGE)
    assert " squares" in tok.get_vocab() or "Ġsquares" in tok.get_vocab()
    with pytest.raises(Exception, match="record 'later-image': cannot align assistant tokens"):
        VLMCollator(proc, fam)([glued])
    report = preflight([glued, _stored(SINGLE)], proc, fam, max_length=100_000)
    assert [(p.code, p.where.record) for p in report.problems] == [("record-rejected", 0)]
    assert "cannot align assistant tokens" in report.problems[0].message
    assert [c.id for c in report.counts] == ["single"]


def test_check_runs_the_collator_once_per_record_shape(tiny_loaded):
    """A refusal the header rule cannot know about (here a processor that takes at most one image per
    call) is found by the collator run on the first record of each shape: the check refuses that record
    instead of passing it to crash the run."""
    from dataclasses import dataclass

    from family_records import MULTI_IMAGE

    from vlmtrain.errors import VlmTrainError
    from vlmtrain.families import Family
    from vlmtrain.tokens import count_records, preflight

    @dataclass
    class OneImageFamily(Family):
        def call_processor(self, processor, text, images, record, videos=()):
            if len(images) > 1:
                raise VlmTrainError(f"record {record.get('id')!r}: this processor takes one image per call")
            return super().call_processor(processor, text, images, record, videos)

    base, proc, _ = tiny_loaded("qwen2_vl")
    fam = base.derive(OneImageFamily, name="one_image")
    records = [_stored(SINGLE), _stored(MULTI_IMAGE), {**_stored(SINGLE), "id": "single-2"}]
    counts, problems = count_records(records, proc, fam)  # the header route alone cannot see it
    assert problems == [] and len(counts) == 3
    report = preflight(records, proc, fam, max_length=100_000)
    assert [(p.code, p.where.record) for p in report.problems] == [("record-rejected", 1)]
    assert "takes one image per call" in report.problems[0].message
    assert [c.id for c in report.counts] == ["single", "single-2"]
