"""Exact counts: `count_records` equals the real processor's input_ids length, record by record, with the
torchvision-backed and with the PIL image processors (`image_backend`, conftest.py)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from real_processors import BACKENDS, MESSAGE_SHAPE, PROMPT_COMPLETION, REAL, TOKENS_640x480
from tokens_helpers import granite_tokenizer_with_gemma3_tokens, record

from vlmtrain.families import NAMES
from vlmtrain.tokens import count_records
from vlmtrain.tokens.render import decode_images, reference_length, render_text, template_messages


def budget(n: int):
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )


SIZES = [
    [(384, 384)],
    [(640, 480)],
    [(480, 640)],
    [],
    [(32, 32), (56, 56)],
    [(1000, 90)],
    [(90, 1000)],
    [(777, 333), (333, 777), (64, 64)],
    [(1, 1)],
    [(1500, 1499)],
]


def sample_records(sizes_list=SIZES):
    return [
        record(sizes, rid=f"r{i}", question="Describe " * (i + 1), answer="It is gray. " * (i % 3 + 1))
        for i, sizes in enumerate(sizes_list)
    ]


def test_granite_counts_equal_processor(granite):
    recs = sample_records()
    counts, problems = count_records(recs, granite, "llava_next")
    assert problems == []
    assert [c.length for c in counts] == [reference_length(granite, r) for r in recs]
    assert counts[0].image_tokens == [1485] and counts[1].image_tokens == [2929]
    assert all(c.method == "rule" for c in counts)


def test_image_end_is_where_the_last_image_token_sits(granite):
    recs = sample_records([[(640, 480)], [(384, 384), (640, 480)], []])
    counts, _ = count_records(recs, granite, "llava_next")
    for c, r in zip(counts, recs, strict=True):
        ids = granite(text=[render_text(granite, r)], images=[decode_images(r)] if r["images"] else None)
        ids = list(ids["input_ids"][0])
        last = max((i for i, t in enumerate(ids) if t == granite.image_token_id), default=-1)
        assert c.image_end == last + 1


def test_llava_fixed_on_granite_tokenizer(granite, image_processor_class):
    """LLaVA-1.5 style (CLIP 336 crop, strategy default): 576 tokens per image whatever its size."""
    from transformers import LlavaProcessor

    ip = image_processor_class("CLIPImageProcessor")(
        size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336}
    )
    proc = LlavaProcessor(
        image_processor=ip,
        tokenizer=granite.tokenizer,
        patch_size=14,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=granite.chat_template,
    )
    recs = sample_records()
    counts, problems = count_records(recs, proc, "llava")
    assert problems == []
    assert [c.length for c in counts] == [reference_length(proc, r) for r in recs]
    assert counts[1].image_tokens == [576]


def _family_processor(tiny_model, name):
    from vlmtrain.families import resolve_family

    path = tiny_model(name)
    fam = resolve_family(path)
    return fam, fam.load_processor(path)


@pytest.mark.parametrize("name", NAMES)
def test_tiny_family_counts_equal_collator_encoding(tiny_processor, name):
    """Every family with a tiny model: the count equals the family's own encode (the collator's path)."""
    from vlmtrain.errors import VlmTrainError

    fam, proc = tiny_processor(name)
    recs = sample_records()
    expected, refused = {}, []
    for i, r in enumerate(recs):
        try:
            expected[i] = len(fam.encode_one(proc, r)["input_ids"][0])
        except VlmTrainError:  # e.g. PaliGemma refuses text-only records: the count must flag them
            refused.append(i)
    counts, problems = count_records(recs, proc, fam)
    assert {c.index: c.length for c in counts} == expected
    assert [p.where.record for p in problems] == refused
    assert len(refused) <= 1


@pytest.mark.parametrize(
    "cfg", [dict(min_pixels=56 * 56, max_pixels=28 * 28 * 1280), dict(min_pixels=3136, max_pixels=200_000)]
)
def test_qwen_real_pixel_budgets_equal_collator(tiny_model, image_processor_class, cfg):
    """The tiny model's tokenizer and template with real Qwen2-VL pixel budgets (hundreds of tokens each)."""
    fam, tiny = _family_processor(tiny_model, "qwen2_vl")
    proc = fam.no_video_processor_class()(
        image_processor=image_processor_class("Qwen2VLImageProcessor")(**cfg),
        tokenizer=tiny.tokenizer,
        chat_template=tiny.chat_template,
    )
    recs = sample_records()
    counts, problems = count_records(recs, proc, fam)
    assert problems == []
    assert [c.length for c in counts] == [len(fam.encode_one(proc, r)["input_ids"][0]) for r in recs]
    assert max(c.length for c in counts) > 250


def test_exif_rotation_counts_as_datasets_decodes(tiny_model, image_processor_class):
    """A 600x200 JPEG tagged "rotate 90" reaches the processor as 200x600 (datasets applies EXIF)."""
    fam, proc = _family_processor(tiny_model, "qwen2_vl")
    proc = fam.no_video_processor_class()(
        image_processor=image_processor_class("Qwen2VLImageProcessor")(min_pixels=3136, max_pixels=200_000),
        tokenizer=proc.tokenizer,
        chat_template=proc.chat_template,
    )
    rec = record([(600, 200)], exif_orientation=6)
    counts, _ = count_records([rec], proc, fam)
    assert counts[0].image_sizes == [(200, 600)]
    decoded = {**rec, "images": decode_images(rec)}  # what datasets hands the collator
    assert decoded["images"][0].size == (200, 600)
    assert counts[0].length == len(fam.encode_one(proc, decoded)["input_ids"][0])


def test_problems_name_the_record(granite):
    good = record([(64, 64)], rid="good")
    broken = record([(64, 64)], rid="broken")
    broken["images"][0]["bytes"] = b"not an image"
    missing = record([(64, 64)], rid="missing")
    missing["images"].append(missing["images"][0])  # two images, one placeholder
    counts, problems = count_records([good, broken, missing], granite, "llava_next", file="x.parquet")
    assert [c.id for c in counts] == ["good"]
    assert [(p.code, p.where.record, p.where.path) for p in problems] == [
        ("image-unreadable", 1, "$.images[0]"),
        ("placeholder-count", 2, "$.messages"),
    ]
    assert problems[1].expected == "2" and problems[1].found == "1"
    assert problems[0].where.file == "x.parquet"
    assert problems[0].message == "image header cannot be read: cannot identify image file"  # no BytesIO repr


def test_qwen_extreme_aspect_ratio_is_reported(tiny_model):
    fam, proc = _family_processor(tiny_model, "qwen2_vl")
    counts, problems = count_records([record([(2010, 10)])], proc, fam)
    assert counts == []
    assert problems[0].code == "image-rejected" and "aspect ratio" in problems[0].message
    with pytest.raises(Exception, match="aspect ratio"):  # the family wraps the processor's ValueError
        fam.encode_one(proc, record([(2010, 10)]))


def test_family_without_rule_falls_back_to_processor(granite):
    """A family that keeps the base contract (no header rule) is counted with its own encoding."""
    from vlmtrain.families import resolve_family
    from vlmtrain.tokens import preflight

    ruleless = resolve_family("llava_next").derive(name="ruleless", rule=None)
    recs = sample_records(SIZES[:3])
    report = preflight(recs, granite, ruleless, 10_000)
    assert (report.method, report.fallback_reason) == ("processor", "the ruleless family has no header rule")
    counts, problems = count_records(recs, granite, ruleless)
    assert problems == []
    assert [c.method for c in counts] == ["processor"] * 3
    assert [c.length for c in counts] == [reference_length(granite, r) for r in recs]


def test_preflight_verify_catches_a_rule_the_processor_disagrees_with(granite, monkeypatch):
    from vlmtrain.families.llava_next import tokens as llava_next
    from vlmtrain.tokens import preflight

    recs = sample_records(SIZES[:4])
    assert preflight(recs, granite, "llava_next", 10_000, verify=4).ok
    monkeypatch.setattr(llava_next, "count", lambda p, w, h: 7)  # a wrong rule
    report = preflight(recs, granite, "llava_next", 10_000, verify=2)
    assert [(p.code, p.where.record) for p in report.blocking] == [
        ("count-mismatch", 0),
        ("count-mismatch", 1),
    ]


@budget(15)
@given(
    sizes=st.lists(st.tuples(st.integers(1, 700), st.integers(1, 700)), min_size=0, max_size=3),
    tile=st.sampled_from([32, 48]),
)
def test_smolvlm_with_splitting_equals_processor(tiny_model, image_processor_class, sizes, tile):
    """Idefics3-style splitting end to end (row/col tags, row newlines, the "\\n\\n" before the global
    image): the tiny SmolVLM tokenizer and template with splitting switched on."""
    fam, tiny = _family_processor(tiny_model, "smolvlm")
    ip = image_processor_class("SmolVLMImageProcessor")(
        do_image_splitting=True, size={"longest_edge": 3 * tile}, max_image_size={"longest_edge": tile}
    )
    proc = fam.no_video_processor_class()(
        image_processor=ip, tokenizer=tiny.tokenizer, chat_template=tiny.chat_template, image_seq_len=4
    )
    rec = record(sizes)
    counts, problems = count_records([rec], proc, fam)
    assert problems == []
    text = fam.assistant_spans(proc, rec)[0]
    assert counts[0].length == len(fam.call_processor(proc, text, decode_images(rec), rec)["input_ids"][0])


GEMMA3_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<start_of_turn>{{ m['role'] }}\n{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<start_of_image>{% else %}{{ c['text'] }}{% endif %}{% endfor %}"
    "<end_of_turn>\n{% endfor %}"
)


def test_gemma3_newlines_around_images_merge_exactly(granite, image_processor_class):
    """Gemma3 wraps each image in "\\n\\n": next to the template's own newlines BPE merges them, which a
    per-image constant would miss. Built on the Granite BPE tokenizer with Gemma3's special tokens."""
    from transformers import Gemma3Processor

    tok = granite_tokenizer_with_gemma3_tokens()
    proc = Gemma3Processor(
        image_processor=image_processor_class("Gemma3ImageProcessor")(size={"height": 32, "width": 32}),
        tokenizer=tok,
        chat_template=GEMMA3_TEMPLATE,
        image_seq_length=16,
    )
    recs = [
        record(sizes, rid=f"g{i}", question=q)
        for i, (sizes, q) in enumerate(
            [([(40, 30)], "\n\nWhat?"), ([(40, 30), (10, 90)], " and\n"), ([], "plain"), ([(5, 5)], "\n")]
        )
    ]
    counts, problems = count_records(recs, proc, "gemma3")
    assert problems == []
    assert [c.length for c in counts] == [reference_length(proc, r) for r in recs]
    assert counts[0].image_tokens == [18]  # boi + 16 soft tokens + eoi


@pytest.mark.parametrize("max_pixels", [50_176, 12_345])
def test_max_pixels_cap_matches_downscaled_images(tiny_model, image_processor_class, max_pixels):
    """`vlmtrain run` downscales images over max_pixels before the collator; counts follow the cap."""
    import math

    fam, tiny = _family_processor(tiny_model, "qwen2_vl")
    proc = fam.no_video_processor_class()(
        image_processor=image_processor_class("Qwen2VLImageProcessor")(
            min_pixels=3136, max_pixels=28 * 28 * 1280
        ),
        tokenizer=tiny.tokenizer,
        chat_template=tiny.chat_template,
    )
    rec = record([(1000, 700), (100, 100), (3000, 60)])
    (count,), _ = count_records([rec], proc, fam, max_pixels=max_pixels)
    images = []
    for im in decode_images(rec):  # vlmtrain.data.cap_image's arithmetic, written out
        w, h = im.size
        if w * h > max_pixels:
            s = math.sqrt(max_pixels / (w * h))
            im = im.resize((max(1, int(w * s)), max(1, int(h * s))))
        images.append(im)
    assert (
        count.image_sizes[1] == (100, 100) and count.image_sizes[0][0] * count.image_sizes[0][1] <= max_pixels
    )
    assert count.length == len(fam.encode_one(proc, {**rec, "images": images})["input_ids"][0])


def test_record_without_assistant_turn_is_a_problem_unless_train_on_prompt(tiny_model):
    fam, proc = _family_processor(tiny_model, "qwen2_vl")
    rec = record([(56, 56)], rid="q")
    rec["messages"] = rec["messages"][:1]  # user turn only
    counts, problems = count_records([rec], proc, fam)
    assert counts == [] and [(p.code, p.where.record) for p in problems] == [("no-assistant-turn", 0)]
    counts, problems = count_records([rec], proc, fam, train_on_prompt=True)
    assert problems == []
    assert counts[0].length == len(fam.encode_one(proc, rec, train_on_prompt=True)["input_ids"][0])


@pytest.mark.parametrize("name", NAMES)
@budget(8)
@given(sizes=st.lists(st.tuples(st.integers(1, 600), st.integers(1, 600)), min_size=1, max_size=2))
def test_tiny_family_random_sizes(tiny_processor, name, sizes):
    from vlmtrain.errors import VlmTrainError

    fam, proc = tiny_processor(name)
    rec = record(sizes)
    counts, problems = count_records([rec], proc, fam)
    # Qwen2-VL-style and GLM resizes refuse an aspect ratio over 200 (the processors raise too)
    if max(max(w, h) / min(w, h) for w, h in sizes) > 200 and name.startswith(("qwen", "glm")):
        assert problems[0].code == "image-rejected"
        return
    if problems and problems[0].code == "image-rejected":  # e.g. Idefics2 splitting a 1 px image
        assert min(min(w, h) for w, h in sizes) < 2
        with pytest.raises(VlmTrainError, match=r"\$\.images\[\d\]: image is \d+x\d+ px"):
            fam.encode_one(proc, rec)
        return
    assert problems == []
    assert counts[0].length == len(fam.encode_one(proc, rec)["input_ids"][0])


REAL_SIZES = [(1, 1), (10, 1000), (1000, 10), (333, 517), (4000, 3000), (640, 480), (2, 2)]


def real_records():
    """One image at each size, EXIF-rotated JPEGs, two images in one turn, images in a later user turn."""
    recs = [record([size], rid=f"{size[0]}x{size[1]}") for size in REAL_SIZES]
    recs += [record([(600, 200)], rid=f"exif{o}", exif_orientation=o) for o in (6, 8, 3)]
    recs.append(record([(333, 517), (1000, 10)], rid="two", question="Compare the two images."))
    later = record([(517, 333), (90, 1000)], rid="later")
    second = later["messages"][0]["content"][1]
    later["messages"] = [
        {"role": "user", "content": [later["messages"][0]["content"][0], {"type": "text", "text": "What?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "A gray box."}]},
        {"role": "user", "content": [{"type": "text", "text": "And this?"}, second]},
        {"role": "assistant", "content": [{"type": "text", "text": "Another one."}]},
    ]
    recs.append(later)
    recs.append(record([], rid="text-only"))
    return recs


def _bare_processor_length(proc, rec, shape=None, completion_end=None) -> int:
    """The bare processor on its own template's render of the record, with the messages shaped as that
    template's users pass them (`MESSAGE_SHAPE`; default: typed parts in every turn); with
    `completion_end` (`PROMPT_COMPLETION`), the final answer as a completion of the inference prompt."""
    if shape is None and completion_end is None:
        return reference_length(proc, rec)
    images = decode_images(rec)
    messages = (shape or (lambda m: m))(template_messages(rec))
    if completion_end is None:
        text = proc.apply_chat_template(messages, tokenize=False)
    else:
        answer = "".join(p["text"] for p in messages[-1]["content"])
        prompt = proc.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
        text = prompt + answer + completion_end
    return len(proc(text=[text], images=[images] if images else None)["input_ids"][0])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(REAL))
def test_counts_equal_processor_configured_as_the_checkpoint(tiny_model, name, backend):
    """The header rule against the bare processor (its own chat template, every image decoded), with the
    real checkpoint's image settings, under both image-processor backends. Records the processor
    raises on must be reported (image-rejected), never counted."""
    fam, tiny = _family_processor(tiny_model, name)
    if backend not in fam.image_backends:
        pytest.skip(f"{name}: transformers has no {backend} image processor for this family")
    proc = REAL[name](tiny, backend)
    recs = real_records()
    counts, problems = count_records(recs, proc, fam)
    by_id = {c.id: c.length for c in counts}
    rejected = {recs[p.where.record]["id"] for p in problems}
    assert {p.code for p in problems} <= {"image-rejected"}
    for r in recs:
        try:
            expected = _bare_processor_length(proc, r, MESSAGE_SHAPE.get(name), PROMPT_COMPLETION.get(name))
        except Exception:  # the processor's own failure (e.g. ZeroDivisionError splitting 1x1)
            assert r["id"] in rejected and r["id"] not in by_id
            continue
        assert by_id.get(r["id"]) == expected, r["id"]
    assert len(by_id) >= len(recs) - 1
    assert next(c.image_tokens for c in counts if c.id == "640x480") == [TOKENS_640x480[name]]


def _png_chunks(data: bytes) -> list[bytes]:
    out, i = [], 8
    while i < len(data):
        n = int.from_bytes(data[i : i + 4], "big")
        out.append(data[i : i + 12 + n])
        i += 12 + n
    return out


def test_png_sizes_without_decoding_and_late_exif_still_counts(monkeypatch):
    """PIL's PNG getexif() decodes every pixel; the header reader scans chunk lengths instead, and still
    honours an EXIF chunk written after the image data (as `datasets`' exif_transpose would)."""
    import io

    from PIL import Image, ImageFile, ImageOps

    from vlmtrain.tokens.headers import image_size

    plain = io.BytesIO()
    Image.new("RGB", (60, 20)).save(plain, format="PNG")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90
    rotated = io.BytesIO()
    Image.new("RGB", (60, 20)).save(rotated, format="PNG", exif=exif)
    chunks = _png_chunks(rotated.getvalue())
    ex = next(c for c in chunks if c[4:8] == b"eXIf")
    rest = [c for c in chunks if c is not ex]
    late = rotated.getvalue()[:8] + b"".join(rest[:-1]) + ex + rest[-1]  # eXIf after IDAT
    assert [c[4:8] for c in _png_chunks(late)] == [b"IHDR", b"IDAT", b"eXIf", b"IEND"]
    decoded = Image.open(io.BytesIO(late))
    assert ImageOps.exif_transpose(decoded).size == (20, 60)
    assert image_size({"bytes": late}) == (20, 60)

    def no_decode(self):
        raise AssertionError("pixels decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decode)
    assert image_size({"bytes": plain.getvalue()}) == (60, 20)
    assert image_size({"bytes": rotated.getvalue()}) == (20, 60)  # eXIf before IDAT: in the header
