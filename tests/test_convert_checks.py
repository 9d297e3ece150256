"""Issue 10: `convert` checks what `validate` checks. Each bad input: validate and convert exit 1 with the
same message, no traceback, nothing at --out; --skip-invalid writes the rest and lists the skipped. Also
what LLaMA-Factory cannot load (wrapped JSON, mixed column types), the one-writer lock on --out, and
absolute image paths."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from data_helpers import REPO, png_bytes
from vlmdata.cli import cli
from vlmdata.formats import OUTPUT_FORMATS

GOOD = {"messages": [{"role": "user", "content": "<image>What is it?"}, {"role": "assistant", "content": "Red."}],
        "images": ["a.png"]}  # fmt: skip


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def huge_png(width=10_000, height=9_000) -> bytes:
    """A PNG whose header says width x height (over PIL's 89,478,485-pixel bomb limit), pixels absent."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))


def sg(user="<image>What is it?", answer="Red.", image="a.png", **extra) -> dict:
    msgs = [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    return {"messages": msgs, "images": [image] if image else [], **extra}


# name -> (the bad record, extra files, validate's message for it)
BAD = {
    "corrupt-image": (sg(image="bad.png"), {"bad.png": b"not an image at all"},
                      "$.images[0]: not a readable image (unknown format)"),
    "decompression-bomb": (sg(image="huge.png"), {"huge.png": huge_png()},
                           "$.images[0]: image has 90,000,000 pixels (10000x9000), over the limit"),
    "empty-assistant-turn": (sg(answer="   "), {}, "$.messages[1]: turn has no text and no image"),
    "ends-with-user": ({"messages": [*sg()["messages"], {"role": "user", "content": "And?"}], "images": ["a.png"]},
                       {}, "$.messages[2].role: the last turn must be the assistant's"),
    "roles-do-not-alternate": (
        {"messages": [sg()["messages"][0], {"role": "user", "content": "Hm?"}, sg()["messages"][1]],
         "images": ["a.png"]},
        {}, "$.messages[1].role: roles must alternate between user and assistant"),
}  # fmt: skip


def folder(tmp_path: Path, bad: dict | None, files: dict) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.png").write_bytes(png_bytes())
    for name, data in files.items():
        (src / name).write_bytes(data)
    records = [sg(answer="first"), *([bad] if bad else []), sg(answer="last")]
    (src / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return src


@pytest.mark.parametrize("case", list(BAD))
def test_validate_refuses_each_bad_input(tmp_path, case):
    bad, files, message = BAD[case]
    src = folder(tmp_path, bad, files)
    result = run("validate", src)
    assert result.exit_code == 1
    assert f"{src / 'train.jsonl'}:2 record 1 {message}" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("to", OUTPUT_FORMATS)
@pytest.mark.parametrize("case", list(BAD))
def test_convert_refuses_each_bad_input_and_writes_nothing(tmp_path, case, to):
    bad, files, message = BAD[case]
    src = folder(tmp_path, bad, files)
    out = tmp_path / "out"
    result = run("convert", src, "--to", to, "--out", out)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: 1 problem(s) in 1 of 3 record(s):\n")
    assert f"  {src / 'train.jsonl'}:2 record 1 {message}" in result.output
    assert result.output.rstrip().endswith(
        f"Nothing was written to {out}. Fix the records (vlmdata validate lists every problem), or pass "
        "--skip-invalid to write the valid records; every skipped one is listed."
    )
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]  # no output, no temporary folder, no lock


@pytest.mark.parametrize("to", OUTPUT_FORMATS)
@pytest.mark.parametrize("case", list(BAD))
def test_skip_invalid_writes_the_rest_and_lists_the_skipped(tmp_path, case, to):
    bad, files, message = BAD[case]
    src = folder(tmp_path, bad, files)
    out = tmp_path / "out"
    result = run("convert", src, "--to", to, "--out", out, "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "Skipped 1 invalid record(s) (listed in " in result.output
    assert f"  train.jsonl record 1 (id None): {src / 'train.jsonl'}:2 record 1 {message}" in result.output
    assert "train: 2;" in result.output
    report = json.loads((out / "conversion_report.json").read_text())
    assert report["rows"] == {"train": 2}
    [skipped] = report["skipped"]
    assert (skipped["file"], skipped["record"], skipped["line"]) == ("train.jsonl", 1, 2)
    assert message in skipped["problems"][0]
    # the written records are the two valid ones: validate passes the output
    again = run("validate", out)
    assert again.exit_code == 0, again.output


def lf_folder(tmp_path: Path, entry: dict, records, name="data.json") -> Path:
    src = tmp_path / "lf"
    src.mkdir()
    (src / "a.png").write_bytes(png_bytes())
    (src / name).write_text(json.dumps(records))
    (src / "dataset_info.json").write_text(json.dumps({"demo": {"file_name": name, **entry}}))
    return src


LF_ENTRY = {"formatting": "sharegpt", "columns": {"messages": "messages", "images": "images"},
            "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}}  # fmt: skip


def test_dataset_info_columns_without_messages_stop_convert_even_with_skip_invalid(tmp_path):
    """LLaMA-Factory (DatasetAttr.set_attr) reads None for a column left out of `columns`."""
    src = lf_folder(tmp_path, {**LF_ENTRY, "columns": {"images": "images"}}, [sg(), sg()])
    message = (
        "$.demo.columns.messages: columns does not name the messages column (LLaMA-Factory then reads None)"
    )
    problems = json.loads(run("validate", src, "--json").output)["problems"]
    assert [f"{p['path']}: {p['message']}" for p in problems] == [message]
    for extra in ([], ["--skip-invalid"]):
        result = run("convert", src, "--to", "parquet", "--out", tmp_path / "out", *extra)
        assert result.exit_code == 1
        assert message in result.output
        assert result.output.rstrip().endswith(
            f"Nothing was written to {tmp_path / 'out'}. Fix dataset_info.json first."
        )
        assert not (tmp_path / "out").exists()


def test_wrapped_json_is_refused_for_llamafactory_and_normalised_by_convert(tmp_path):
    """datasets' JSON builder (LLaMA-Factory's loader) reads `{"data": [...]}` as one row."""
    src = lf_folder(tmp_path, LF_ENTRY, {"data": [sg(), sg(answer="Blue.")]})
    result = run("validate", src, "--json")
    assert result.exit_code == 1
    [p] = json.loads(result.output)["problems"]
    assert {k: p[k] for k in ("code", "file", "message", "expected", "found", "fix")} == {
        "code": "lf-wrapped",
        "file": str(src / "data.json"),
        "message": "the records are wrapped in an object (records read from the list under 'data'): "
        "LLaMA-Factory's loader (datasets' JSON builder) reads it as one row",
        "expected": "a top-level JSON list of records",
        "found": "an object",
        "fix": "write the list itself as the file (vlmdata convert --to sharegpt does)",
    }
    conv = run("convert", src, "--to", "sharegpt", "--out", tmp_path / "out")
    assert conv.exit_code == 0, conv.output
    assert "normalised: data.json: records read from the list under 'data'" in conv.output
    assert isinstance(json.loads((tmp_path / "out" / "train.json").read_text()), list)
    assert run("validate", tmp_path / "out").exit_code == 0


def test_mixed_column_types_are_refused_for_llamafactory(tmp_path):
    """pyarrow cannot type a column that is a string in one record and a list in others."""
    records = [sg(), {**sg(), "images": "a.png"}, sg()]
    src = lf_folder(tmp_path, LF_ENTRY, records)
    result = run("validate", src, "--json")
    assert result.exit_code == 1
    [p] = [p for p in json.loads(result.output)["problems"] if p["code"] == "mixed-types"]
    assert (p["record"], p["path"], p["expected"], p["found"]) == (1, "$.images", "array", "string")
    conv = run("convert", src, "--to", "sharegpt", "--out", tmp_path / "out")
    assert conv.exit_code == 0, conv.output
    assert "normalised: " in conv.output and "column 'images' holds array values" in conv.output
    assert run("validate", tmp_path / "out").exit_code == 0


def test_absolute_image_paths_are_read_and_counted(tmp_path):
    """LLaMA-Factory (mm_plugin opens the path as given), Qwen-VL and ms-swift read absolute paths."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "b.png").write_bytes(png_bytes((0, 0, 255)))
    src = folder(tmp_path, sg(image=str(elsewhere / "b.png")), {})
    result = run("validate", src)
    assert result.exit_code == 0, result.output
    assert (
        "valid: 3 record(s) in 1 file(s), 3 image(s) checked (1 outside the dataset folder)" in result.output
    )
    conv = run("convert", src, "--to", "oai", "--out", tmp_path / "out")
    assert conv.exit_code == 0, conv.output
    assert "3 image references, 1 read from outside the dataset folder" in conv.output


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("/nowhere/x.png", "$.images[0]: absolute image path does not exist on this machine"),
        ("../outside.png", "$.images[0]: image path escapes the dataset folder"),
        ("notimage.png", "$.images[0]: not a readable image (unknown format)"),
    ],
)
def test_paths_that_stay_refused(tmp_path, image, message):
    (tmp_path / "outside.png").write_bytes(png_bytes())
    src = folder(tmp_path, sg(image=image), {"notimage.png": b"%PDF-1.4 not an image"})
    for args in (["validate", src], ["convert", src, "--to", "parquet", "--out", tmp_path / "out"]):
        result = run(*args)
        assert result.exit_code == 1
        assert message in result.output
    assert not (tmp_path / "out").exists()


def test_symlink_out_of_the_folder_is_refused_by_convert(tmp_path):
    (tmp_path / "secret.png").write_bytes(png_bytes())
    src = folder(tmp_path, None, {})
    (src / "link.png").symlink_to(tmp_path / "secret.png")
    with open(src / "train.jsonl", "a") as fh:
        fh.write(json.dumps(sg(image="link.png")) + "\n")
    result = run("convert", src, "--to", "parquet", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "record 2 $.images[0]: image file is a link that leads out of the dataset folder" in result.output


def test_a_second_writer_of_one_out_fails_at_once(tmp_path):
    """The lock: while one command holds --out, another fails immediately; the holder's output is whole."""
    src = folder(tmp_path, None, {})
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from vlmdata.atomic import out_lock\n"
         f"with out_lock(Path({str(out)!r})):\n    print('locked', flush=True); sys.stdin.readline()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={"PYTHONPATH": str(REPO / "src")},
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = run("convert", src, "--to", "parquet", "--out", out)
        assert result.exit_code == 1
        assert result.output == (
            f"Error: {out} is being written by another vlmdata command (pid {holder.pid}); wait for it to "
            "finish or choose another --out\n"
        )
        assert not out.exists()
    finally:
        holder.communicate("\n", timeout=30)
    assert run("convert", src, "--to", "parquet", "--out", out).exit_code == 0  # the lock is gone with it


def test_convert_race_leaves_one_complete_output_and_one_clear_error(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.png").write_bytes(png_bytes())
    (src / "train.jsonl").write_text("".join(json.dumps(sg(answer=f"n{i}")) + "\n" for i in range(3000)))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "vlmdata", "convert", str(src), "--to", "oai", "--out", str(out), "-q"]
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 1], [0, 2]), results
    [(_, err)] = [r for r in results if r[0] != 0]
    assert (
        "is being written by another vlmdata command" in err  # overlapped: refused at once
        or f"output folder {out} already exists; pass --overwrite" in err  # the first had finished
    ), err
    lines = (out / "train.jsonl").read_text().splitlines()
    assert len(lines) == 3000 and json.loads(lines[-1])["messages"][1]["content"][0]["text"] == "n2999"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]


def _hub_layout(path: Path, images: list[bytes]) -> Path:
    """HuggingFaceH4/llava-instruct-mix-vsft's layout: typed parts {type, text, index}, images as bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    part = pa.struct([("index", pa.int64()), ("text", pa.string()), ("type", pa.string())])
    schema = pa.schema(
        [
            ("messages", pa.list_(pa.struct([("content", pa.list_(part)), ("role", pa.string())]))),
            ("images", pa.list_(pa.struct([("bytes", pa.binary()), ("path", pa.string())]))),
        ]
    )
    rows = [
        {
            "messages": [
                {"role": "user", "content": [{"index": 0, "text": None, "type": "image"},
                                             {"index": None, "text": f"Q{i}?", "type": "text"}]},
                {"role": "assistant", "content": [{"index": None, "text": f"A{i}.", "type": "text"}]},
            ],
            "images": [{"bytes": data, "path": f"{i}.png"}],
        }
        for i, data in enumerate(images)
    ]  # fmt: skip
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


@pytest.mark.parametrize("layout", ["canonical", "hub"])
def test_parquet_inputs_are_checked_and_skipped_row_by_row(tmp_path, layout):
    """Both Parquet routes (canonical shards copied batch by batch, Hub layouts with image bytes kept in
    Arrow) check every row's image header; --skip-invalid drops exactly the bad rows."""
    from data_helpers import canonical, record, write_canonical

    good = [png_bytes((i * 40, 0, 0)) for i in range(5)]
    images = good[:2] + [b"not an image"] + good[2:]
    src = tmp_path / "src"
    if layout == "canonical":
        recs = [record(f"r{i}") for i in range(6)]
        for rec, data in zip(recs, images, strict=True):
            rec["images"][0]["bytes"] = data
        write_canonical(src, recs)
        file = src / "train-00000-of-00001.parquet"
    else:
        src.mkdir()
        file = _hub_layout(src / "train.parquet", images)
    result = run("convert", src, "--to", "parquet", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert f"  {file} record 2 $.images[0]: not a readable image (unknown format)" in result.output
    assert not (tmp_path / "out").exists()
    result = run("convert", src, "--to", "parquet", "--out", tmp_path / "out", "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "Skipped 1 invalid record(s)" in result.output
    assert [r["images"] for r in canonical(tmp_path / "out")] == [[g] for g in good]
    assert run("validate", tmp_path / "out").exit_code == 0


def test_the_out_lock_appears_with_its_pid_in_one_step(tmp_path):
    """The lock file is linked into place already holding the writer's pid: a second command that finds it
    reads a live pid (never an empty file it would take for a killed run's and take over)."""
    from vlmdata.atomic import _create_with_pid

    lock = tmp_path / ".out.lock"
    assert _create_with_pid(lock) is True
    assert lock.read_text() == str(os.getpid())
    assert _create_with_pid(lock) is False  # taken: left as it is
    assert lock.read_text() == str(os.getpid())
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock"]  # no private file left behind
