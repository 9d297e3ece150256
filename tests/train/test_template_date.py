"""One chat-template date per run (`template_date`): Llama 3.2 Vision's real template, which writes
"Today Date: 07 Dec 2026" into its system header, on the tiny Mllama model, through the real CLI:
`vlmtrain check` on two simulated days, `run` recording the date, a resumed run and `predict` using it.

A day is simulated by monkeypatching `vlmtrain.encoding.template_date.today`, the one date source of
vlmtrain (transformers' clock is never read once a processor has a date)."""

from __future__ import annotations

import datetime
import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from run_helpers import FAST, record, write_config, write_shards

from vlmtrain.cli import cli
from vlmtrain.encoding import template_date as dates

REAL_LLAMA = (
    Path(__file__).resolve().parents[2]
    / "fixtures/real_models/meta-llama--Llama-3.2-11B-Vision-Instruct/chat_template.jinja"
)
PINNED = "2026-12-07"


def text_record(i: int, question: str, answer: str) -> dict:
    return {
        "id": f"txt-{i}",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": question}]},
            {"role": "assistant", "content": [{"type": "text", "text": answer}]},
        ],
        "images": [],
        "source": "test",
    }


@pytest.fixture(scope="module")
def llama(tiny_model, tmp_path_factory):
    """The tiny Mllama with Llama 3.2 Vision's real chat template (byte for byte)."""
    out = tmp_path_factory.mktemp("llama") / "model"
    shutil.copytree(tiny_model("mllama"), out)
    shutil.copyfile(REAL_LLAMA, out / "chat_template.jinja")
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Text-only records (the real template writes the dated system header for them) and one with an
    image (no system header: the date is not printed)."""
    train = [text_record(0, "What is 2+2?", "4"), text_record(1, "Name a colour.", "Blue."), record(0)]
    return write_shards(
        tmp_path_factory.mktemp("data"), {"train": train, "validation": [text_record(2, "Hi?", "Hi.")]}
    )


@pytest.fixture(scope="module")
def two_days(llama):
    """Two days whose "Today Date" lines tokenize to different lengths with the tiny tokenizer, so an
    unpinned count differs between them."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(llama)
    by_length: dict[int, str] = {}
    for month in range(1, 13):
        day = datetime.date(2027, month, 7)
        by_length.setdefault(len(tok(day.strftime("Today Date: %d %b %Y"))["input_ids"]), day.isoformat())
    assert len(by_length) > 1, "every month's date tokenizes alike: choose other days"
    return sorted(by_length.values())[:2]


@pytest.fixture
def processor(llama):
    """The tiny Mllama's processor, its chat template seeing 5 March 2027."""
    from vlmtrain.families import resolve_family

    return resolve_family(llama).load_processor(llama, template_date="2027-03-05")


HELLO = [{"role": "user", "content": [{"type": "text", "text": "hello"}]}]


@pytest.mark.parametrize(
    "fmt",
    [
        "%d %b %Y",  # Llama 3.x
        "%Y-%m-%d",  # Mistral Small 3.1
        "%A %-d %B %Y, %H:%M:%S %p",
        "100%% on %d%%%m",
        "%c|%x|%X|%D|%F|%j|%-j|%e|%U|%W|%V|%G|%g|%u|%w|%y|%C|%h|%k|%l|%P|%r|%R|%T|%Z|%z",
        "no directive",
        "%Q and a trailing %",
    ],
)
def test_strftime_now_renders_the_pinned_day_as_python_formats_it(processor, fmt):
    processor.chat_template = "{{ strftime_now(" + json.dumps(fmt) + ") }}"
    assert dates.render_template(processor, HELLO, False) == datetime.datetime(2027, 3, 5).strftime(fmt)


def test_the_pinned_clock_is_seen_everywhere_in_the_template_and_only_in_that_render(processor):
    # Whitespace where the template starts (a leading newline kept; spaces before a block stripped, as
    # transformers' lstrip_blocks does), the clock tested, called in the template's own macro, set into
    # a variable.
    processor.chat_template = (
        "\n  {% if true %}{{ strftime_now is defined }}{% endif %}{% macro header() %}"
        "[{{ strftime_now('%d %b %Y') }}]{% endmacro %} {{ header() }}{% set t = strftime_now('%Y') %} "
        "{{ t + '!' }}"
    )
    assert dates.render_template(processor, HELLO, False) == "\nTrue [05 Mar 2027] 2027!"
    now = datetime.datetime.now().strftime("%d %b %Y")  # transformers' own clock, as before
    assert processor.apply_chat_template(HELLO, tokenize=False) == f"\nTrue [{now}] {now[-4:]}!"


@pytest.mark.parametrize(
    "template",
    [
        "\n  {% if true %}{{ strftime_now('%%') }}{% endif %}\n",
        "  {% if true %}{{ strftime_now('x') }}{% endif %}",
        " \t{%- set x = strftime_now('x') %}{{ x }}\n{{ bos_token }}",
    ],
)
def test_the_pinned_clock_keeps_the_templates_whitespace(processor, template):
    """Templates whose clock calls give the same text any day render exactly as transformers renders them
    (the macro put before the template changes no whitespace control)."""
    processor.chat_template = template
    assert dates.render_template(processor, HELLO, False) == processor.apply_chat_template(
        HELLO, tokenize=False
    )


def test_a_template_without_strftime_now_renders_as_transformers_renders_it(tiny_model):
    from vlmtrain.families import resolve_family

    path = tiny_model("qwen2_vl")
    proc = resolve_family(path).load_processor(path, template_date="1999-01-01")
    assert not dates.reads_date(proc)
    assert dates.render_template(proc, HELLO, True) == proc.apply_chat_template(
        HELLO, tokenize=False, add_generation_prompt=True
    )


def on_day(monkeypatch, day: str) -> None:
    monkeypatch.setattr(dates, "today", lambda: day)


def check(tmp_path, model, data_dir, *args, **keys):
    config = write_config(
        tmp_path / "check.yaml", model_name_or_path=str(model), data_dir=str(data_dir), **keys
    )
    return CliRunner().invoke(cli, ["check", str(config), *args])


def label_text(view: dict) -> str:
    return "".join(seg["text"] for seg in view["segments"])


def test_check_counts_the_same_on_any_day_when_the_config_pins_the_date(
    tmp_path, llama, data, two_days, monkeypatch
):
    reports = {}
    for day in two_days:
        on_day(monkeypatch, day)
        for pinned in (False, True):
            keys = {"template_date": PINNED} if pinned else {}
            res = check(tmp_path, llama, data, "--json", "--show-labels", "3", **keys)
            assert res.exit_code == 0, res.output
            reports[day, pinned] = json.loads(res.output)
            del reports[day, pinned]["report"]["seconds"]  # how long the check took
    a, b = two_days
    # Unpinned: each day renders its own date, and the counts differ.
    for day in two_days:
        shown = datetime.date.fromisoformat(day).strftime("Today Date: %d %b %Y\n")
        assert shown in label_text(reports[day, False]["labels"][0])
        assert reports[day, False]["template_date"] == {
            "date": day,
            "source": "today",
            "read_by_template": True,
            "message": f"chat template date: {day} (today: the config sets no template_date; "
            "`vlmtrain run` records the day it starts on)",
        }
    assert reports[a, False]["report"]["lengths"] != reports[b, False]["report"]["lengths"]
    # Pinned: the same report, labels and counts on both days, rendering the config's date.
    assert reports[a, True] == reports[b, True]
    views = reports[a, True]["labels"]
    assert "Today Date: 07 Dec 2026\n" in label_text(views[0])
    assert "Today Date" not in label_text(views[2])  # the image record: no system header
    assert reports[a, True]["template_date"]["source"] == "the config's template_date"


def test_check_says_which_date_it_used(tmp_path, llama, data, monkeypatch):
    on_day(monkeypatch, "2027-03-01")
    res = check(tmp_path, llama, data)
    assert res.exit_code == 0, res.output
    assert (
        "chat template date: 2027-03-01 (today: the config sets no template_date; `vlmtrain run` records "
        "the day it starts on)\n" in res.output
    )
    res = check(tmp_path, llama, data, f"template_date={PINNED}")
    assert res.exit_code == 0, res.output
    assert f"chat template date: {PINNED} (the config's template_date)\n" in res.output


def test_check_is_silent_about_dates_for_a_template_without_one(tmp_path, tiny_model, data):
    res = check(tmp_path, tiny_model("qwen2_vl"), data, "--json")
    assert res.exit_code == 0, res.output
    dated = json.loads(res.output)["template_date"]
    assert dated["read_by_template"] is False and dated["message"] is None
    assert "chat template date" not in check(tmp_path, tiny_model("qwen2_vl"), data).output


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (
            "07 Dec 2026",
            "template_date: expected a date written YYYY-MM-DD, e.g. 2026-12-07, found '07 Dec 2026'",
        ),
        ("2026-02-30", "template_date: '2026-02-30' is not a date (day is out of range for month)"),
    ],
)
def test_a_template_date_that_is_not_a_date_is_refused(tmp_path, llama, data, value, problem):
    res = check(tmp_path, llama, data, template_date=value)
    assert res.exit_code == 2
    assert f"  - {problem}\n" in res.output


def test_an_unquoted_yaml_date_is_the_date(tmp_path, llama, data):
    config = tmp_path / "check.yaml"
    config.write_text(f"model_name_or_path: {llama}\ndata_dir: {data}\ntemplate_date: 2026-12-07\n")
    res = CliRunner().invoke(cli, ["check", str(config), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["template_date"]["date"] == PINNED


def rendered_texts(monkeypatch) -> list[str]:
    """Every chat-template render of a sample from now on (a spy on transformers' processor method; the
    probe conversations `prints_date` renders on two fixed dates are left out)."""
    from transformers import ProcessorMixin

    seen: list[str] = []
    real = ProcessorMixin.apply_chat_template
    probes = dates._probes()

    def spy(self, conversation, *args, **kwargs):
        text = real(self, conversation, *args, **kwargs)
        if conversation not in probes:
            seen.append(text)
        return text

    monkeypatch.setattr(ProcessorMixin, "apply_chat_template", spy)
    return seen


def run(tmp_path, model, data_dir, *overrides, **keys):
    out = tmp_path / "out"
    config = write_config(
        tmp_path / "run.yaml",
        model_name_or_path=str(model),
        data_dir=str(data_dir),
        output_dir=str(out),
        **{**FAST, "max_length": 4096, **keys},
    )
    return CliRunner().invoke(cli, ["run", str(config), *overrides]), out


def recorded(out: Path) -> str:
    return yaml.safe_load((out / "vlmtrain_config.yaml").read_text())["template_date"]


@pytest.mark.slow
def test_run_records_its_date_and_resume_and_predict_use_it(tmp_path, llama, data, monkeypatch):
    first, later = "2027-01-07", "2027-12-07"
    on_day(monkeypatch, first)
    seen = rendered_texts(monkeypatch)
    result, out = run(tmp_path, llama, data, save_strategy="steps", save_steps=1, max_steps=2)
    assert result.exit_code == 0, result.output
    assert recorded(out) == first
    assert (
        f"vlmtrain: the chat template prints today's date; this run renders it as {first} "
        f"(template_date in {out / 'vlmtrain_config.yaml'})" in result.output
    )
    dated = [t for t in seen if "Today Date:" in t]
    assert dated and all("Today Date: 07 Jan 2027\n" in t for t in dated)

    # The next day: check on the run being resumed, and the resumed run, render the recorded date.
    on_day(monkeypatch, later)
    seen.clear()
    where = out / "vlmtrain_config.yaml"
    res = check(tmp_path, llama, data, f"output_dir={out}", "resume_from_checkpoint=true")
    assert res.exit_code == 0, res.output
    assert f"chat template date: {first} (recorded in {where})\n" in res.output
    result, out = run(tmp_path, llama, data, "resume_from_checkpoint=true", save_strategy="no", max_steps=3)
    assert result.exit_code == 0, result.output
    assert recorded(out) == first
    dated = [t for t in seen if "Today Date:" in t]
    assert dated and all("Today Date: 07 Jan 2027\n" in t for t in dated)
    # Resuming with another date is refused: the earlier steps trained on the recorded one.
    result, _ = run(
        tmp_path, llama, data, "resume_from_checkpoint=true", f"template_date={later}", max_steps=4
    )
    assert result.exit_code == 2
    assert (
        f"template_date: '{later}', but the run being resumed was trained with '{first}' ({where}); remove "
        f"template_date to resume with {first}, or start a new run" in result.output
    )

    # predict with the run's adapter, on the later day: the recorded date, unless --template-date says otherwise.
    preds = tmp_path / "preds.jsonl"
    common = ["--data", str(data), "--split", "validation", "--out", str(preds), "--max-new-tokens", "3"]
    args = ["predict", "--model", str(llama), "--adapter", str(out), *common]
    seen.clear()
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert f"chat template date: {first} (recorded in {where})\n" in res.output
    assert seen and all("Today Date: 07 Jan 2027\n" in t for t in seen)
    seen.clear()
    res = CliRunner().invoke(cli, [*args, "--template-date", "2026-05-23"])
    assert res.exit_code == 0, res.output
    assert "chat template date: 2026-05-23 (--template-date)\n" in res.output
    assert seen and all("Today Date: 23 May 2026\n" in t for t in seen)
    # Without a run folder (the base model alone): today's date, and said so.
    seen.clear()
    res = CliRunner().invoke(cli, ["predict", "--model", str(llama), *common])
    assert res.exit_code == 0, res.output
    assert f"chat template date: {later} (today)\n" in res.output
    assert seen and all("Today Date: 07 Dec 2027\n" in t for t in seen)


def test_the_launcher_gives_its_ranks_one_date(tmp_path, llama, data, monkeypatch):
    """`run --nproc 2` resolves the date once, before torchrun starts the ranks, and hands it to them as an
    override (ranks started on either side of midnight would otherwise render different days)."""
    import subprocess

    from vlmtrain import launch

    commands = []
    monkeypatch.setattr(
        launch.subprocess, "run", lambda cmd, env: commands.append(cmd) or subprocess.CompletedProcess(cmd, 0)
    )
    on_day(monkeypatch, "2027-06-30")
    config = write_config(
        tmp_path / "run.yaml",
        model_name_or_path=str(llama),
        data_dir=str(data),
        output_dir=str(tmp_path / "out"),
    )
    result = CliRunner().invoke(cli, ["run", str(config), "max_steps=1", "--nproc", "2"])
    assert result.exit_code == 0, result.output
    [cmd] = commands
    assert cmd[-4:] == ["run", str(config), "max_steps=1", "template_date=2027-06-30"]


@pytest.mark.parametrize("value", ["07 Dec 2026", "2026-W49-1", "2026-02-30"])
def test_predict_refuses_a_template_date_that_is_not_a_date(tmp_path, llama, data, value):
    args = ["predict", "--model", str(llama), "--data", str(data), "--out", str(tmp_path / "p.jsonl")]
    res = CliRunner().invoke(cli, [*args, "--template-date", value])
    assert res.exit_code == 1
    why = (
        "day is out of range for month"
        if value == "2026-02-30"
        else f"expected a date written YYYY-MM-DD, found {value!r}"
    )
    assert res.output == f"Error: --template-date: {why}\n"
    assert not (tmp_path / "p.jsonl").exists()


@pytest.mark.slow
def test_predict_with_a_full_run_folder_as_model_uses_its_date(tmp_path, llama, data, monkeypatch):
    on_day(monkeypatch, "2027-01-07")
    result, out = run(tmp_path, llama, data, method="full", max_steps=1, save_strategy="no")
    assert result.exit_code == 0, result.output
    on_day(monkeypatch, "2027-12-07")
    seen = rendered_texts(monkeypatch)
    args = ["predict", "--model", str(out), "--data", str(data), "--split", "validation"]
    res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "p.jsonl"), "--max-new-tokens", "2"])
    assert res.exit_code == 0, res.output
    assert f"chat template date: 2027-01-07 (recorded in {out / 'vlmtrain_config.yaml'})\n" in res.output
    assert seen and all("Today Date: 07 Jan 2027\n" in t for t in seen)


def test_mistral_small_default_system_prompt_holds_the_run_date_on_any_day(tiny_model, monkeypatch):
    """Mistral Small 3.1's real template (the tiny mistral3 model carries it) writes today's date into
    its default system prompt, used when a record has no system turn: the run's date is the one it
    renders, whatever the day; unpinned, each day renders its own; with a system turn no date is written."""
    from vlmtrain.families import resolve_family

    fam = resolve_family("mistral3")
    hi = {"role": "user", "content": [{"type": "text", "text": "Hi."}]}
    system = {"role": "system", "content": [{"type": "text", "text": "Be terse."}]}
    rendered = {}
    for day in ("2026-12-08", "2027-03-01"):
        on_day(monkeypatch, day)
        for pinned in (None, PINNED):
            proc = fam.load_processor(tiny_model("mistral3"), template_date=pinned)
            rendered[day, pinned] = fam.render(proc, [hi], add_generation_prompt=True)
            with_system = fam.render(proc, [system, hi], add_generation_prompt=True)
            assert with_system == "<s>[SYSTEM_PROMPT]Be terse.[/SYSTEM_PROMPT][INST]Hi.[/INST]"
    assert rendered["2026-12-08", PINNED] == rendered["2027-03-01", PINNED]
    assert "The current date is 2026-12-07.\n\nWhen you're not sure" in rendered["2026-12-08", PINNED]
    for day in ("2026-12-08", "2027-03-01"):
        assert f"The current date is {day}.\n\n" in rendered[day, None]


def _registered_names() -> list[str]:
    from vlmtrain.tiny.make import BUILDERS

    return sorted(BUILDERS)


@pytest.mark.parametrize("name", _registered_names())
def test_the_date_notices_follow_what_the_template_prints(tiny_model, name):
    """`prints_date` (what `check`, `run` and `predict` report) is true exactly for the templates whose text
    changes with the date: Llama 3.2 Vision's system header and Mistral Small 3.1's default system prompt.
    Llama 4's default calls strftime_now and never writes the result: no notice."""
    from vlmtrain.families import resolve_family

    path = tiny_model(name)
    proc = resolve_family(path).load_processor(path, template_date="2026-12-07")
    assert dates.prints_date(proc) is (name in {"mllama", "mistral3"})
    assert dates.reads_date(proc) is (name in {"mllama", "mistral3", "llama4"})
