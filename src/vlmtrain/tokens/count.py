"""Layer 2 (token counting): exact input_ids length per record, from image headers and one text-only
tokenization.

    count_records(records, processor, family)
      -> ([SampleCount(index=0, id="a", length=342, image_tokens=[300], image_sizes=[(640, 480)],
                       image_end=318, method="rule"), ...], problems)

The route: the family renders the training text with placeholders (`Family.assistant_spans`, the
collator's own render), each placeholder is replaced by the family's collapsed expansion
(`Family.expand_image`), all texts are tokenized in one batched fast-tokenizer call, and the tokens the
collapsed runs stand for are added back. Nothing decodes pixels. A family without a header rule, or a
processor setting its rule does not model (`Family.count_unsupported`), is counted with the real
processor instead.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field

from vlmdata.errors import Location, Problem
from vlmtrain.errors import VlmTrainError
from vlmtrain.families import Family, resolve_family
from vlmtrain.tokens import render
from vlmtrain.tokens.headers import ImageHeaderError, record_image_sizes


@dataclass(slots=True)  # one per record: millions for the_cauldron-sized splits
class SampleCount:
    index: int
    id: str
    length: int  # input_ids the collator produces for this record, before truncation
    image_tokens: list[int] = field(default_factory=list)  # tokens each image expands to
    image_sizes: list[tuple[int, int]] = field(default_factory=list)  # (width, height) after EXIF
    image_end: int = 0  # just after the last image or video token; truncating below it cuts an image or video
    method: str = "rule"  # "rule" | "processor" | "stand-in"
    file: str | None = None  # shard the record came from (index is within it)
    position: int | None = None  # 0-based position in the whole split (all shards in order), set by preflight
    # tokens each video expands to (its frames' tokens and what the processor writes around them: Qwen3-VL's
    # timestamps), and the frames its video processor samples
    video_tokens: list[int] = field(default_factory=list)
    video_frames: list[int] = field(default_factory=list)

    @property
    def text_tokens(self) -> int:
        return self.length - sum(self.image_tokens) - sum(self.video_tokens)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["image_sizes"] = [list(s) for s in self.image_sizes]
        d["text_tokens"] = self.text_tokens
        return d


def fallback_reason(processor, family: Family) -> str | None:
    """Why this family/processor pair is counted with the real processor (None: the rule applies)."""
    return family.count_unsupported(processor)


def image_token_count(family, processor, width: int, height: int) -> int:
    """Tokens one image of width x height becomes for this family (a Family or name) and processor."""
    return resolve_family(family).expand_image(processor, width, height).image_tokens


def count_records(
    records: list[dict],
    processor,
    family,
    *,
    start: int = 0,
    file: str | None = None,
    max_pixels: int | None = None,
    train_on_prompt: bool = False,
) -> tuple[list[SampleCount], list[Problem]]:
    """Count every record; records that cannot be counted come back as Problems (and no SampleCount).

    max_pixels: the run's image cap (images over it are downscaled before the collator), applied to the
    header sizes with the same arithmetic.
    """
    family = resolve_family(family)
    if fallback_reason(processor, family) is not None:
        return _count_with_processor(records, processor, family, start, file, max_pixels, train_on_prompt)
    placeholder = family.image_placeholder(processor)
    media_ids = {processor.tokenizer.convert_tokens_to_ids(family.image_token)}
    if family.video is not None:  # video tokens end a sample's media too
        media_ids.add(processor.tokenizer.convert_tokens_to_ids(family.video.placeholder(processor)))

    problems: list[Problem] = []
    # (count without text, extra, expanded text, record, training text, assistant spans)
    pending: list[tuple[SampleCount, int, str, dict, str, list]] = []
    for offset, record in enumerate(records):
        index = start + offset
        rid = record.get("id") or str(index)
        try:
            sizes = record_image_sizes(record, index, file, max_pixels)
        except ImageHeaderError as exc:
            problems.append(exc.problem)
            continue
        try:
            text, spans = family.assistant_spans(processor, record)
            plans = family.plan_videos(processor, record) if record.get("videos") else []
        except VlmTrainError as exc:  # the family refuses the record (its collator would too)
            problems.append(_rejected(index, file, exc))
            continue
        except ValueError as exc:  # a video vlmdata or the family's video processor refuses
            problems.append(
                Problem(
                    code="video-rejected",
                    message=f"the video processor would reject a video: {exc}",
                    where=Location(file=file, record=index, path="$.videos"),
                    fix="re-encode or drop the video (vlmdata validate reports bad videos)",
                )
            )
            continue
        videos = [family.video.expand(processor, plan) for plan in plans]
        if not spans and not train_on_prompt:
            problems.append(
                Problem(
                    code="no-assistant-turn",
                    message="no assistant turn, so nothing to train on (the collator refuses it)",
                    where=Location(file=file, record=index, path="$.messages"),
                    fix="drop the record or set train_on_prompt",
                )
            )
            continue
        pieces = text.split(placeholder)
        if len(pieces) - 1 != len(sizes):
            problems.append(_placeholder_problem(index, file, placeholder, len(pieces) - 1, len(sizes)))
            continue
        try:
            expansions = family.expand_images(processor, sizes)
        except ValueError as exc:  # e.g. Qwen's aspect-ratio limit: the processor raises the same
            problems.append(
                Problem(
                    code="image-rejected",
                    message=f"the processor would reject an image: {exc}",
                    where=Location(file=file, record=index, path="$.images"),
                    fix="crop or pad the image, or drop the record",
                )
            )
            continue
        expanded = pieces[0] + "".join(e.text + p for e, p in zip(expansions, pieces[1:], strict=True))
        expanded = family.rewrite_expanded(processor, expanded)
        if plans:  # the video placeholders as the processor writes them (runs collapsed), after the images':
            # GLM writes a video's frames with its image token
            expanded, _ = family.expand_videos(processor, expanded, [], plans, record)
            text, spans = family.expand_videos(processor, text, spans, plans, record)  # what labels align on
        sample = SampleCount(
            index=index,
            id=rid,
            length=0,
            image_tokens=[e.image_tokens for e in expansions],
            image_sizes=sizes,
            video_tokens=[v.image_tokens for v in videos],
            video_frames=[len(plan.indices) for plan in plans],
        )
        extra = sum(e.extra for e in expansions) + sum(v.extra for v in videos)
        pending.append((sample, extra, expanded, record, text, spans))
    if not pending:
        return [], problems

    tok = processor.tokenizer
    # As `Family.call_processor` tokenizes (templates write BOS; assistant_spans adds it otherwise).
    add_special = bool(family.processor_kwargs.get("add_special_tokens", False))
    ids = tok([p[2] for p in pending], add_special_tokens=add_special)["input_ids"]
    # The collator's own label alignment, run on the rule's expansion (image runs collapsed, everything
    # else token for token what the processor gives): a record whose assistant tokens the collator
    # cannot place is refused here, not mid-training. Where the expansion is the placeholder itself
    # (Qwen2-VL, LLaVA, Mllama, ...) both tokenizations are the same text and the alignment is the identity.
    align = [] if train_on_prompt else [k for k, p in enumerate(pending) if add_special or p[2] != p[4]]
    plain = {"input_ids": [], "offset_mapping": []}
    if align:
        plain = tok([pending[k][4] for k in align], add_special_tokens=False, return_offsets_mapping=True)
    plain_of = {k: n for n, k in enumerate(align)}
    counted = []
    for k, ((sample, extra, _, record, text, spans), toks) in enumerate(zip(pending, ids, strict=True)):
        if k in plain_of:
            n = plain_of[k]
            enc = {"input_ids": plain["input_ids"][n], "offset_mapping": plain["offset_mapping"][n]}
            try:
                family.labels_for(processor, text, spans, toks, record, plain=enc)
            except VlmTrainError as exc:
                problems.append(_rejected(sample.index, file, exc))
                continue
        sample.length = len(toks) + extra
        last = _last_index(toks, media_ids)
        sample.image_end = last + 1 + extra if last >= 0 else 0
        counted.append(sample)
    problems.sort(key=lambda p: p.where.record if p.where.record is not None else -1)
    return counted, problems


def _last_index(ids: list[int], token_ids) -> int:
    token_ids = {token_ids} if isinstance(token_ids, int) else token_ids
    for i in range(len(ids) - 1, -1, -1):
        if ids[i] in token_ids:
            return i
    return -1


def _rejected(index, file, exc) -> Problem:
    return Problem(
        code="record-rejected",
        message=str(exc),
        where=Location(file=file, record=index),
        fix="fix or drop the record (vlmdata validate reports these)",
    )


def _placeholder_problem(index, file, placeholder, found, expected) -> Problem:
    return Problem(
        code="placeholder-count",
        message=f"the rendered prompt has {found} image placeholder(s) {placeholder!r} for {expected} image(s)",
        where=Location(file=file, record=index, path="$.messages"),
        expected=str(expected),
        found=str(found),
        fix="make the record's image parts match its images (vlmdata validate reports these)",
    )


def _count_with_processor(records, processor, family, start, file, max_pixels=None, train_on_prompt=False):
    """The slow route: the family's own encoding (the collator's) per record, where no rule applies.

    When the family's count does not depend on image size (`image_counts_size_independent`), each
    image is replaced by a cached 32x32 stand-in instead of being decoded: exact and much cheaper.
    """
    stand_in = family.image_counts_size_independent
    image_id = processor.tokenizer.convert_tokens_to_ids(family.image_token)
    out, problems = [], []
    for offset, record in enumerate(records):
        index = start + offset
        try:
            sizes = record_image_sizes(record, index, file, max_pixels)
            images = [_stand_in()] * len(sizes) if stand_in else None
            ids = render.reference_ids(processor, record, family, max_pixels, images, train_on_prompt)
        except ImageHeaderError as exc:
            problems.append(exc.problem)
            continue
        except Exception as exc:  # the family's or processor's own refusal, reported per record
            problems.append(_rejected(index, file, exc))
            continue
        rid = record.get("id") or str(index)
        ids = [int(t) for t in ids]
        last = _last_index(ids, image_id)
        image_end = last + 1 if last >= 0 else 0
        method = "stand-in" if stand_in else "processor"
        per_image = [e.image_tokens for e in family.expand_images(processor, sizes)] if stand_in else []
        out.append(SampleCount(index, rid, len(ids), per_image, sizes, image_end=image_end, method=method))
    return out, problems


@functools.cache
def _stand_in():
    from PIL import Image

    return Image.new("RGB", (32, 32), "gray")
