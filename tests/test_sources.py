"""Each source turns its mirror's rows into exactly the expected canonical records.

The mirrors are fixtures/hub (made by fixtures/make_hub_mirrors.py); expected image bytes come from the
generator's own `draw`, so a test fails if an image is dropped, duplicated, reordered or re-encoded.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from download_helpers import MIRROR, ROOT, rows, run
from vlmdata.sources.base import pick
from vlmdata.sources.captions import PROMPTS
from vlmdata.sources.food101 import QUESTIONS

_spec = importlib.util.spec_from_file_location("make_hub_mirrors", ROOT / "fixtures" / "make_hub_mirrors.py")
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)


def img(seed: int, fmt: str = "PNG") -> dict:
    return {"bytes": gen.draw(seed, fmt), "path": None}


def user(*parts):
    return {"role": "user", "content": list(parts)}


def assistant(text):
    return {"role": "assistant", "content": [{"type": "text", "text": text}]}


IMG = {"type": "image", "text": None}


def txt(text):
    return {"type": "text", "text": text}


def test_the_cauldron_multi_image_rows(tmp_path, cache):
    out = tmp_path / "o"
    run(["the_cauldron", "--subset", "nlvr2", "--hub-mirror", str(MIRROR), "--out", str(out)], cache)
    q0, a0 = gen.CAULDRON["nlvr2"][1][0][1][0]
    q1, a1 = gen.CAULDRON["nlvr2"][1][1][1][0]
    assert rows(out) == [
        {
            "id": "nlvr2-train-00000-000000",
            "messages": [user(IMG, IMG, txt(q0)), assistant(a0)],
            "images": [img(10), img(11)],
            "videos": [],
            "audios": [],
            "source": "the_cauldron/nlvr2",
        },
        {
            "id": "nlvr2-train-00000-000001",
            "messages": [user(IMG, IMG, txt(q1)), assistant(a1)],
            "images": [img(12), img(13)],
            "videos": [],
            "audios": [],
            "source": "the_cauldron/nlvr2",
        },
    ]


def test_the_cauldron_multi_turn_rows_across_files(tmp_path, cache):
    out = tmp_path / "o"
    run(["the_cauldron", "--subset", "vqav2", "--hub-mirror", str(MIRROR), "--out", str(out)], cache)
    got = rows(out)
    spec = gen.CAULDRON["vqav2"][1]
    # 4 rows in 2 files of 2: ids name the file and the row within it
    assert [r["id"] for r in got] == [
        "vqav2-train-00000-000000",
        "vqav2-train-00000-000001",
        "vqav2-train-00001-000000",
        "vqav2-train-00001-000001",
    ]
    (seed, ), turns = spec[2]  # fmt: skip
    assert got[2] == {
        "id": "vqav2-train-00001-000000",
        "messages": [
            user(IMG, txt(turns[0][0])),
            assistant(turns[0][1]),
            user(txt(turns[1][0])),
            assistant(turns[1][1]),
            user(txt(turns[2][0])),
            assistant(turns[2][1]),
        ],
        "images": [img(seed)],
        "videos": [],
        "audios": [],
        "source": "the_cauldron/vqav2",
    }
    assert [len(r["messages"]) for r in got] == [4, 2, 6, 2]


def test_the_cauldron_several_subsets_in_order(tmp_path, cache):
    out = tmp_path / "o"
    run(
        [
            "the_cauldron",
            "--subset",
            "vqav2",
            "--subset",
            "ai2d",
            "--hub-mirror",
            str(MIRROR),
            "--out",
            str(out),
        ],
        cache,
    )
    got = rows(out)
    assert [r["source"] for r in got] == ["the_cauldron/vqav2"] * 4 + ["the_cauldron/ai2d"] * 3
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["subsets"] == ["vqav2", "ai2d"]
    assert manifest["rows"] == {"train": 7}


def test_the_cauldron_unknown_subset_lists_valid_ones(tmp_path, cache):
    out = tmp_path / "o"
    r = run(
        ["the_cauldron", "--subset", "nope", "--hub-mirror", str(MIRROR), "--out", str(out)], cache, ok=False
    )
    assert r.exit_code == 2
    assert "Error: unknown the_cauldron subset(s): nope; valid subsets: ai2d, nlvr2, vqav2" in r.output
    assert not out.exists()


def test_the_cauldron_needs_a_subset(tmp_path, cache):
    r = run(["the_cauldron", "--hub-mirror", str(MIRROR), "--out", str(tmp_path / "o")], cache, ok=False)
    assert r.exit_code == 2
    assert "needs --subset NAME (repeatable) or --subset all; subsets: ai2d, nlvr2, vqav2" in r.output


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["naruto", "--subset", "nope"],
            "naruto does not use --subset; drop it (of --subset, --repo, --prompt, --prompts-file, --columns "
            "it takes: --repo, --prompt, --prompts-file)",
        ),
        (["food101", "--prompt", "hi", "--columns", "image=x"], "food101 does not use --prompt, --columns;"),
        (["the_cauldron", "--subset", "ai2d", "--prompt", "hi"], "the_cauldron does not use --prompt;"),
        (
            [str(MIRROR / "lambdalabs" / "naruto-blip-captions"), "--repo", "a/b"],
            "a hub:<org>/<name> or local folder source does not use --repo;",
        ),
    ],
)
def test_options_a_source_does_not_use_are_refused(tmp_path, cache, args, message):
    """An option the source would ignore stops the download instead of being dropped silently."""
    out = tmp_path / "o"
    r = run([*args, "--hub-mirror", str(MIRROR), "--out", str(out)], cache, ok=False)
    assert r.exit_code == 2
    assert f"Error: {message}" in r.output
    assert not out.exists()


def test_naruto_rows_with_prompt_pool(tmp_path, cache):
    out = tmp_path / "o"
    run(["naruto", "--hub-mirror", str(MIRROR), "--out", str(out)], cache)
    got = rows(out)
    ids = [f"naruto-train-00000-00000{i}" for i in range(3)] + [
        f"naruto-train-00001-00000{i}" for i in range(2)
    ]
    assert got == [
        {
            "id": rid,
            "messages": [user(IMG, txt(pick(PROMPTS, rid, 0))), assistant(caption)],
            "images": [img(100 + i, "JPEG")],
            "videos": [],
            "audios": [],
            "source": "lambdalabs/naruto-blip-captions",
        }
        for i, (rid, caption) in enumerate(zip(ids, gen.NARUTO, strict=True))
    ]
    # the pool is really used: not every row gets the same prompt
    assert len({r["messages"][0]["content"][1]["text"] for r in got}) > 1


def test_naruto_seed_changes_prompts_deterministically(tmp_path, cache):
    a, b = tmp_path / "a", tmp_path / "b"
    run(["naruto", "--hub-mirror", str(MIRROR), "--out", str(a), "--seed", "7"], cache)
    run(["naruto", "--hub-mirror", str(MIRROR), "--out", str(b), "--seed", "7"], cache)
    prompts = [r["messages"][0]["content"][1]["text"] for r in rows(a)]
    assert prompts == [pick(PROMPTS, r["id"], 7) for r in rows(a)]
    assert rows(a) == rows(b)


def test_pokemon_fixed_prompt_and_prompts_file(tmp_path, cache):
    out = tmp_path / "o"
    run(["pokemon", "--hub-mirror", str(MIRROR), "--out", str(out), "--prompt", "Who is this?"], cache)
    got = rows(out)
    assert [r["messages"] for r in got] == [
        [user(IMG, txt("Who is this?")), assistant(c)] for c in gen.POKEMON
    ]
    assert [r["images"] for r in got] == [[img(200 + i)] for i in range(4)]
    assert {r["source"] for r in got} == {"reach-vb/pokemon-blip-captions"}

    pool = tmp_path / "prompts.txt"
    pool.write_text("Name it.\n\nWhat is it?\n")
    out2 = tmp_path / "o2"
    run(["pokemon", "--hub-mirror", str(MIRROR), "--out", str(out2), "--prompts-file", str(pool)], cache)
    assert [r["messages"][0]["content"][1]["text"] for r in rows(out2)] == [
        pick(["Name it.", "What is it?"], r["id"], 0) for r in rows(out2)
    ]


def test_pokemon_repo_override_must_exist(tmp_path, cache):
    r = run(
        ["pokemon", "--repo", "someone/missing", "--hub-mirror", str(MIRROR), "--out", str(tmp_path / "o")],
        cache,
        ok=False,
    )
    assert r.exit_code == 2
    assert "has no copy of someone/missing" in r.output


def test_food101_label_names_in_dataset_order_and_real_validation(tmp_path, cache):
    out = tmp_path / "o"
    run(["food101", "--hub-mirror", str(MIRROR), "--out", str(out)], cache)
    train, val = rows(out, "train"), rows(out, "validation")
    answers = [r["messages"][1]["content"][0]["text"] for r in train]
    # 16 is cheesecake and 17 cheese_plate in the dataset; sorting the names would swap them
    assert answers == ["cheesecake", "cheese plate", "apple pie", "waffles", "gyoza", "hot and sour soup"]
    assert [r["messages"][1]["content"][0]["text"] for r in val] == ["cheese plate", "cheesecake", "steak"]
    assert [r["id"] for r in val] == [f"food101-validation-00000-00000{i}" for i in range(3)]
    assert train[0] == {
        "id": "food101-train-00000-000000",
        "messages": [
            user(IMG, txt(pick(QUESTIONS, "food101-train-00000-000000", 0))),
            assistant("cheesecake"),
        ],
        "images": [img(300, "JPEG")],
        "videos": [],
        "audios": [],
        "source": "ethz/food101",
    }
    assert json.loads((out / "manifest.json").read_text())["rows"] == {"train": 6, "validation": 3}


def test_unknown_source(tmp_path, cache):
    r = run(["imagenet", "--out", str(tmp_path / "o")], cache, ok=False)
    assert r.exit_code == 2
    assert "unknown source 'imagenet'; use one of the_cauldron, naruto, pokemon, food101" in r.output
