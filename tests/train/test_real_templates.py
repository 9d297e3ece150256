"""Real chat templates of released checkpoints are the ground truth (fixtures/real_models, ORIGIN.md there).

Every family that names a real template (`Family.template`) carries it verbatim in its tiny model, and on
records with a system turn, a text-only turn, two images in a later turn, answers with newlines, unicode
and `{{ }}`, under both image backends: the labels are exactly each answer plus its end-of-turn, the input
holds every text once and no Python repr of a list, the tokens before each answer (before the last one
where the template writes history differently) equal the real template's inference prompt for the history
before it (`apply_chat_template(..., add_generation_prompt=True, tokenize=True)`, the family's template
switches), nothing inserted between turns, and `vlmtrain check` counts what the collator builds.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from family_records import png_dict

from vlmtrain.families import NAMES, resolve_family
from vlmtrain.families.base import WholeConversationFamily
from vlmtrain.families.real_template import NO_CHAT_TEMPLATE

pytestmark = pytest.mark.train

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "real_models"
WITH_TEMPLATE = [n for n in NAMES if resolve_family(n).template is not None]


def _origin_hashes() -> dict[str, str]:
    text = (FIXTURES / "ORIGIN.md").read_text(encoding="utf-8")
    block = text.split("Full sha256 values:", 1)[1].split("```")[1]
    return {path: digest for digest, path in (line.split() for line in block.strip().splitlines())}


def test_every_fixture_is_the_file_its_origin_names():
    hashes = _origin_hashes()
    files = sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.glob("*/*"))
    assert files == sorted(hashes)
    for rel, digest in hashes.items():
        assert hashlib.sha256((FIXTURES / rel).read_bytes()).hexdigest() == digest, rel


def test_fixtures_are_the_package_data_make_tiny_model_reads():
    import vlmtrain

    assert FIXTURES.resolve() == (Path(vlmtrain.__file__).parent / "real_models").resolve()


@pytest.mark.parametrize("name", NAMES)
def test_family_template_names_a_fixture(name):
    fam = resolve_family(name)
    if fam.template is None:
        if fam.template_note == NO_CHAT_TEMPLATE:  # none published: the family renders through no template
            from vlmtrain.errors import VlmTrainError

            with pytest.raises(VlmTrainError, match="has no chat template"):
                fam.render(None, [_msg("user", "Hi.")], add_generation_prompt=True)
        else:
            assert fam.template_note == "unverified"
        return
    assert (FIXTURES / fam.template.folder / "chat_template.jinja").is_file()
    assert fam.template_note.startswith(fam.template.checkpoint + " (")


@pytest.mark.parametrize("name", WITH_TEMPLATE)
def test_tiny_model_carries_the_real_template_verbatim(tiny_model, name):
    fam = resolve_family(name)
    got = (tiny_model(name) / "chat_template.jinja").read_bytes()
    assert got == (FIXTURES / fam.template.folder / "chat_template.jinja").read_bytes()


def test_make_tiny_model_help_says_whose_template_each_family_carries():
    from click.testing import CliRunner

    from vlmtrain.cli import cli

    out = CliRunner().invoke(cli, ["make-tiny-model", "--help"], terminal_width=200).output
    flat = " ".join(out.split())
    for name in NAMES:
        assert f"{name}: {resolve_family(name).template_note}" in flat, name


# ---- the records ------------------------------------------------------------------------------------


def _msg(role, *parts):
    return {
        "role": role,
        "content": [
            {"type": "image", "text": None} if p is None else {"type": "text", "text": p} for p in parts
        ],
    }


SYSTEM = "Be terse; quote {{ braces }} as they are."
HARD = {
    "id": "hard",
    "messages": [
        _msg("system", SYSTEM),
        _msg("user", "Hello there, no picture yet."),
        _msg("assistant", "Hi!\nAsk me about {{ anything }}."),
        _msg("user", None, None, "Compare the two images."),
        _msg("assistant", "The first is red,\nthe second is blue: naïve café ✓ 日本."),
        _msg("user", "And now {% raw %} this one?", None),
        _msg("assistant", "A small blue circle.\n\n- done {{x}}"),
    ],
    "images": [png_dict("red", 56), png_dict("blue", 32), png_dict("green", 40)],
    "source": "test",
}
# No system turn, an image in the first turn (Llama 3.2 Vision then writes no dated system turn).
FIRST_IMAGE = {
    "id": "first-image",
    "messages": [
        _msg("user", None, "Describe this picture."),
        _msg("assistant", "A red square\non white."),
        _msg("user", "Thank you!"),
        _msg("assistant", "You are welcome."),
    ],
    "images": [png_dict("red")],
    "source": "test",
}
RECORDS = [HARD, FIRST_IMAGE]


def _texts(record) -> list[str]:
    return [p["text"] for m in record["messages"] for p in m["content"] if p["type"] == "text"]


def _answers(record) -> list[str]:
    return ["".join(p["text"] for p in m["content"]) for m in record["messages"] if m["role"] == "assistant"]


def _runs(labels) -> list[tuple[int, int]]:
    """[start, end) of each run of labelled positions."""
    runs, start = [], None
    for i, lab in enumerate([*labels, -100]):
        if lab != -100 and start is None:
            start = i
        elif lab == -100 and start is not None:
            runs.append((start, i))
            start = None
    return runs


def _inference_ids(fam, proc, record, k: int) -> list[int]:
    """What the real template gives at inference for the history before assistant turn k: the family's
    messages (its content contract), images in their parts, the generation prompt, tokenized by the
    processor with the images expanded."""
    from vlmtrain.encoding.records import decode_images

    images = iter(decode_images(record["images"], record["id"]))
    history = fam.template_messages(record["messages"][:k])
    for m in history:
        if isinstance(m["content"], list):
            m["content"] = [{**p, "image": next(images)} if p["type"] == "image" else p for p in m["content"]]
    out = proc.apply_chat_template(
        history,
        add_generation_prompt=True,
        tokenize=True,
        return_dict=True,
        processor_kwargs=dict(fam.processor_kwargs),
        **fam.template_kwargs,
    )
    ids = out["input_ids"]
    return list(ids[0] if not isinstance(ids[0], int) else ids)


@pytest.mark.parametrize("name", WITH_TEMPLATE)
@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r["id"])
def test_real_template_labels_prompts_and_counts(tiny_processor, name, record):
    from vlmtrain.collator import VLMCollator
    from vlmtrain.tokens import preflight

    fam, proc = tiny_processor(name)
    tok = getattr(proc, "tokenizer", proc)
    batch = VLMCollator(proc, fam)([record])
    ids, labels = batch["input_ids"][0].tolist(), batch["labels"][0].tolist()

    # labels: exactly each answer and its end-of-turn ("ASSISTANT: text" puts the space in the first token):
    # the template's, or where it writes none, the stop after an earlier answer (GLM: "<|user|>";
    # LLaVA-1.5: none) and the EOS appended after the final one
    runs = _runs(labels)
    got = [tok.decode(ids[a:b]).removeprefix(" ") for a, b in runs]
    *earlier, final = _answers(record)
    assert got == [t + fam.history_end_of_turn for t in earlier] + [final + fam.tiny_end_of_turn]

    # the input: every text of the record exactly once, no Python repr of a list of parts
    text = tok.decode(ids)
    assert "[{'type'" not in text and "{'type'" not in text
    for t in _texts(record):
        assert text.count(t) == 1, (t, text)

    # the tokens before the last answer: the real template's inference prompt for the history before it,
    # token for token. Earlier answers stand as the template writes history (Qwen3.5: without their think
    # block); nothing is inserted between turns, in any family. Where the template writes every turn the
    # same in history as live (all but `WholeConversationFamily`), that holds before every answer.
    turns = [k for k, m in enumerate(record["messages"]) if m["role"] == "assistant"]
    checked = turns[-1:] if isinstance(fam, WholeConversationFamily) else turns
    for k in checked:
        prefix = ids[: runs[turns.index(k)][0]]
        prompt = _inference_ids(fam, proc, record, k)
        assert prefix == prompt, (k, tok.decode(prefix), tok.decode(prompt))

    # `vlmtrain check` counts what the collator builds
    report = preflight([record], proc, fam, max_length=100_000)
    assert [p.message for p in report.problems] == []
    assert [c.length for c in report.counts] == [len(ids)]


@pytest.mark.parametrize("name", WITH_TEMPLATE)
def test_content_reaches_the_template_as_the_real_template_reads_it(tiny_processor, name):
    """The family's content contract is the real template's: each role renders a two-part text turn
    holding both texts once, no repr; and each role the family passes as a string really needs it (with
    typed parts the real template prints a Python list or drops text), and each it passes as one text part
    needs that (both typed parts and a string fail)."""
    fam, proc = tiny_processor(name)
    roles = ("system", "user", "assistant")
    messages = [_msg(r, f"{r} one.", f" {r} two.") for r in roles]
    rendered = fam.render(proc, messages, add_generation_prompt=False)
    assert "{'type'" not in rendered
    for r in roles:
        assert rendered.count(f"{r} one.") == 1 and rendered.count(f"{r} two.") == 1, (r, rendered)
    for r in fam.string_content_roles:
        as_parts = fam.derive(string_content_roles=tuple(x for x in fam.string_content_roles if x != r))
        try:
            wrong = as_parts.render(proc, messages, add_generation_prompt=False)
        except Exception:  # noqa: BLE001 - a template that raises on parts there needs strings too
            continue
        assert "{'type'" in wrong or wrong.count(f"{r} two.") != 1, r
    for r in fam.one_part_roles:  # neither typed parts nor a string would do there
        others = tuple(x for x in fam.one_part_roles if x != r)
        for wrong_fam in (
            fam.derive(one_part_roles=others),
            fam.derive(one_part_roles=others, string_content_roles=(*fam.string_content_roles, r)),
        ):
            try:
                wrong = wrong_fam.render(proc, messages, add_generation_prompt=False)
            except Exception:  # noqa: BLE001 - a template that raises there needs the one part
                continue
            assert "{'type'" in wrong or wrong.count(f"{r} two.") != 1, r


@pytest.mark.parametrize("name", WITH_TEMPLATE)
def test_special_token_strings_the_template_writes_are_tokens(tiny_processor, name):
    """The tiny tokenizer has the real special-token strings the real template writes, each one token."""
    from vlmtrain.collator import VLMCollator

    fam, proc = tiny_processor(name)
    tok = getattr(proc, "tokenizer", proc)
    rendered = "".join(fam.assistant_spans(proc, r)[0] for r in RECORDS)
    found = set(re.findall(r"<\|[^<>|\s]+\|>|<[a-z_]+\|>|<\|[a-z_]+>|<[a-z_]+>|\[gMASK\]|</s>", rendered))
    found -= {"<raw>"}  # none expected; guards against record text looking like a token
    assert found, rendered
    for s in sorted(found):
        assert len(tok(s, add_special_tokens=False)["input_ids"]) == 1, s
    VLMCollator(proc, fam)(RECORDS)  # and they encode


TEXT_ONLY_ROLES = [
    (n, r)
    for n in WITH_TEMPLATE
    for r in (*resolve_family(n).string_content_roles, *resolve_family(n).one_part_roles)
]


@pytest.mark.parametrize(("name", "role"), TEXT_ONLY_ROLES)
def test_an_image_in_a_text_only_role_is_refused_by_name(tiny_processor, name, role):
    """A role the template takes as text only (a string or one text part) refuses an image there, naming
    the record and the message, instead of dropping it."""
    from vlmtrain.collator import VLMCollator
    from vlmtrain.errors import VlmTrainError

    fam, proc = tiny_processor(name)
    messages = [_msg("user", "Hi."), _msg("assistant", "Hello.")]
    if role == "system":
        messages.insert(0, _msg("system", "Be brief.", None))
    else:
        messages[-1] = _msg(role, "Hello.", None)
    record = {"id": "img-in-text-role", "messages": messages, "images": [png_dict("red")], "source": "t"}
    with pytest.raises(VlmTrainError) as exc:
        VLMCollator(proc, fam)([record])
    k = next(i for i, m in enumerate(messages) if m["role"] == role)
    assert str(exc.value) == (
        f"record 'img-in-text-role' $.messages[{k}]: an image in a {role} turn; the {name} chat template "
        f"takes {role} turns as text only"
    )
