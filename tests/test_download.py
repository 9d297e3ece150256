"""`vlmdata download` end to end on the offline mirrors: the output folder, its guarantees, its errors."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from download_helpers import MIRROR, ROOT, rows, run
from vlmdata.cli import cli

_spec = importlib.util.spec_from_file_location("make_hub_mirrors", ROOT / "fixtures" / "make_hub_mirrors.py")
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

BUILTIN = {
    "naruto": [],
    "pokemon": [],
    "food101": [],
    "the_cauldron": ["--subset", "all"],
}
ROWS = {"naruto": 5, "pokemon": 4, "food101": 9, "the_cauldron": 9}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, cache):
    """Every built-in source downloaded once from the mirror (parquet)."""
    base = tmp_path_factory.mktemp("outs")
    for name, extra in BUILTIN.items():
        run([name, *extra, "--hub-mirror", str(MIRROR), "--out", str(base / name)], cache)
    return base


@pytest.mark.parametrize("name", list(BUILTIN))
def test_output_reads_back_as_canonical_records(outputs, name):
    from vlmdata.convert import read_records
    from vlmdata.inputs import discover
    from vlmdata.record import count_image_parts

    records = [rec for _, _, rec in read_records(discover(outputs / name))]
    assert len(records) == ROWS[name]
    for rec in records:
        assert count_image_parts(rec) == len(rec["images"]) >= 1
        assert [m["role"] for m in rec["messages"]] == ["user", "assistant"] * (len(rec["messages"]) // 2)


@pytest.mark.parametrize("name", list(BUILTIN))
def test_output_loads_with_datasets_and_decodes_images(outputs, name):
    import datasets
    from PIL import Image

    ds = datasets.load_dataset(str(outputs / name), cache_dir=str(outputs / ".cache"))
    splits = {"food101": {"train": 6, "validation": 3}}.get(name, {"train": ROWS[name]})
    assert {s: ds[s].num_rows for s in ds} == splits
    first = ds["train"][0]
    assert isinstance(first["images"][0], Image.Image)
    assert first["images"][0].size == (16, 16)
    assert first["messages"][0]["role"] == "user"


@pytest.mark.parametrize("name", list(BUILTIN))
def test_manifest_matches_the_files(outputs, name):
    out = outputs / name
    manifest = json.loads((out / "manifest.json").read_text())
    data = sorted(p.name for p in out.glob("*.parquet"))
    assert sorted(manifest["files"]) == data
    for file, meta in manifest["files"].items():
        assert meta["sha256"] == hashlib.sha256((out / file).read_bytes()).hexdigest()
        assert meta["bytes"] == (out / file).stat().st_size
    assert sum(manifest["rows"].values()) == manifest["rows_read"] - len(manifest["skipped"]) == ROWS[name]
    assert manifest["tool"] == "vlmdata" and manifest["loaded_from"] == "mirror"
    assert manifest["options"]["format"] == "parquet"
    card = (out / "README.md").read_text()
    assert card.startswith(f'---\npretty_name: "{name}"\n---\n')
    assert "configs:" not in card  # it would make datasets serve stale rows after a re-download
    assert f"| train | {ROWS[name] if name != 'food101' else 6} | `train-00000-of-00001.parquet` |" in card
    assert not (out / "dataset_info.json").exists()  # canonical parquet is not LLaMA-Factory's sharegpt


def check_llamafactory_sharegpt(folder: Path) -> int:
    """The rules LLaMA-Factory's sharegpt converter and mm_plugin apply: user/assistant alternate from user,
    an even number of turns, one <image> per image, every image path resolvable in the dataset folder."""
    info = json.loads((folder / "dataset_info.json").read_text())
    n = 0
    for entry in info.values():
        assert entry["formatting"] == "sharegpt"
        assert entry["columns"] == {"messages": "messages", "images": "images"}
        tags = entry["tags"]
        records = json.loads((folder / entry["file_name"]).read_text())
        for rec in records:
            msgs = rec[entry["columns"]["messages"]]
            roles = [m[tags["role_tag"]] for m in msgs]
            assert (
                roles == [tags["user_tag"], tags["assistant_tag"]] * (len(msgs) // 2) and len(msgs) % 2 == 0
            )
            markers = sum(m[tags["content_tag"]].count("<image>") for m in msgs)
            assert markers == len(rec["images"]) >= 1
            assert all((folder / p).is_file() for p in rec["images"])
            n += 1
    return n


@pytest.mark.parametrize("name", list(BUILTIN))
def test_exports_to_sharegpt_for_llamafactory(outputs, tmp_path, name):
    out = tmp_path / "lf"
    r = CliRunner().invoke(cli, ["convert", str(outputs / name), "--to", "sharegpt", "--out", str(out), "-q"])
    assert r.exit_code == 0, r.output
    assert check_llamafactory_sharegpt(out) == ROWS[name]


def test_download_straight_to_sharegpt(tmp_path, cache):
    out = tmp_path / "o"
    run(
        [
            "the_cauldron",
            "--subset",
            "nlvr2",
            "--hub-mirror",
            str(MIRROR),
            "--out",
            str(out),
            "--format",
            "sharegpt",
        ],
        cache,
    )
    assert check_llamafactory_sharegpt(out) == 2
    records = json.loads((out / "train.json").read_text())
    assert records[0]["messages"][0]["content"].startswith("<image><image>The left image")
    manifest = json.loads((out / "manifest.json").read_text())
    assert "train.json" in manifest["files"] and "dataset_info.json" in manifest["files"]
    assert "| train | 2 | `train.json` |" in (out / "README.md").read_text()
    assert not (out / ".canonical").exists()


def test_streaming_gives_identical_output(tmp_path, cache):
    a, b = tmp_path / "a", tmp_path / "b"
    args = ["the_cauldron", "--subset", "all", "--hub-mirror", str(MIRROR)]
    run([*args, "--out", str(a)], cache)
    run([*args, "--out", str(b), "--streaming"], cache)
    assert (a / "train-00000-of-00001.parquet").read_bytes() == (
        b / "train-00000-of-00001.parquet"
    ).read_bytes()


def test_shards_are_disjoint_and_cover_the_source(tmp_path, cache):
    args = ["the_cauldron", "--subset", "all", "--hub-mirror", str(MIRROR), "--streaming"]
    run([*args, "--out", str(tmp_path / "all")], cache)
    parts = []
    for i in range(3):
        run([*args, "--shard", f"{i}/3", "--out", str(tmp_path / f"p{i}")], cache)
        parts.append(rows(tmp_path / f"p{i}"))
    # 4 source files (ai2d, nlvr2, vqav2 x2): file k goes to part k mod 3
    assert [[r["id"] for r in p] for p in parts] == [
        ["ai2d-train-00000-000000", "ai2d-train-00000-000001", "ai2d-train-00000-000002",
         "vqav2-train-00001-000000", "vqav2-train-00001-000001"],
        ["nlvr2-train-00000-000000", "nlvr2-train-00000-000001"],
        ["vqav2-train-00000-000000", "vqav2-train-00000-000001"],
    ]  # fmt: skip
    everything = {r["id"]: r for r in rows(tmp_path / "all")}
    assert {r["id"]: r for p in parts for r in p} == everything
    r = run([*args, "--shard", "0/5", "--out", str(tmp_path / "x")], cache, ok=False)
    assert r.exit_code == 2 and "only 4 source file(s)" in r.output
    r = run([*args, "--shard", "3/3", "--out", str(tmp_path / "x")], cache, ok=False)
    assert r.exit_code == 2 and "bad --shard '3/3'" in r.output


def test_val_ratio_and_sample_caps(tmp_path, cache):
    base = ["naruto", "--hub-mirror", str(MIRROR)]
    run([*base, "--val-ratio", "0.4", "--out", str(tmp_path / "a")], cache)
    train, val = rows(tmp_path / "a"), rows(tmp_path / "a", "validation")
    assert len(train) + len(val) == 5 and val
    assert sorted(r["id"] for r in train + val) == sorted(r["id"] for r in rows(MIRROR_OUT(tmp_path, cache)))
    run([*base, "--val-ratio", "0.4", "--out", str(tmp_path / "b"), "--streaming"], cache)
    assert rows(tmp_path / "b", "validation") == val  # same split whichever way it is read
    run([*base, "--num-train-samples", "2", "--out", str(tmp_path / "c")], cache)
    assert [r["id"] for r in rows(tmp_path / "c")] == [
        "naruto-train-00000-000000",
        "naruto-train-00000-000001",
    ]
    run(["food101", "--hub-mirror", str(MIRROR), "--num-train-samples", "1", "--num-val-samples", "2",
         "--out", str(tmp_path / "d")], cache)  # fmt: skip
    assert (len(rows(tmp_path / "d")), len(rows(tmp_path / "d", "validation"))) == (1, 2)
    r = run([*base, "--split", "test", "--out", str(tmp_path / "e")], cache, ok=False)
    assert r.exit_code == 2 and "has no split 'test'; its splits: train" in r.output


@pytest.mark.parametrize("fmt", ["parquet", "sharegpt"])
def test_no_rows_is_an_error_and_writes_nothing(tmp_path, cache, fmt):
    """--num-train-samples 0 leaves nothing: an error naming the caps, not an empty dataset (parquet) or a
    message about a temporary folder (sharegpt)."""
    out = tmp_path / "o"
    r = run(["naruto", "--hub-mirror", str(MIRROR), "--num-train-samples", "0", "--format", fmt,
             "--out", str(out)], cache, ok=False)  # fmt: skip
    assert r.exit_code == 1
    assert r.output == (
        "Error: lambdalabs/naruto-blip-captions: no rows to write (0 read, 0 skipped); nothing was written. "
        "Check --subset, --split and the --num-*-samples caps\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == []


def MIRROR_OUT(tmp_path, cache) -> Path:
    out = tmp_path / "plain"
    if not out.exists():
        run(["naruto", "--hub-mirror", str(MIRROR), "--out", str(out)], cache)
    return out


def _corrupt_mirror(tmp_path) -> tuple[Path, Path]:
    mirror = tmp_path / "mirror"
    shutil.copytree(MIRROR / "lambdalabs", mirror / "lambdalabs")
    files = sorted((mirror / "lambdalabs/naruto-blip-captions/data").glob("train-00001-*.parquet"))
    table = pq.read_table(files[0])
    images = table.column("image").to_pylist()
    images[1] = {"bytes": b"\xff\xd8\xff\xe0 not really a jpeg", "path": None}
    table = table.set_column(0, "image", pa.array(images, table.schema.field("image").type))
    pq.write_table(table, files[0])
    return mirror, files[0]


def test_corrupt_image_stops_the_run_with_validates_report(tmp_path, cache):
    mirror, bad = _corrupt_mirror(tmp_path)
    out = tmp_path / "o"
    r = run(["naruto", "--hub-mirror", str(mirror), "--out", str(out)], cache, ok=False)
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert (
        f"1 problem(s) in 1 of 2 record(s):\n  data/{bad.name} record 1 $.images[0]: image 0 is not a "
        in r.output
    )
    assert (
        f"Nothing was written to {out}. Reading stopped after data/{bad.name}. Pass --skip-invalid"
        in r.output
    )
    assert not out.exists()


def test_corrupt_image_with_skip_invalid_is_listed_not_dropped_silently(tmp_path, cache):
    mirror, bad = _corrupt_mirror(tmp_path)
    out = tmp_path / "o"
    r = run(["naruto", "--hub-mirror", str(mirror), "--out", str(out), "--skip-invalid"], cache, quiet=False)
    assert "Skipped 1 invalid row(s) (--skip-invalid); each is listed in" in r.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rows_read"] == 5 and manifest["rows"] == {"train": 4}
    (skip,) = manifest["skipped"]
    assert skip["id"] == "naruto-train-00001-000001"
    assert (skip["file"], skip["row"], skip["split"]) == (f"data/{bad.name}", 1, "train")
    assert skip["reason"].startswith("image 0 is not a readable image")
    assert "naruto-train-00001-000001" not in [r["id"] for r in rows(out)]


def test_existing_output_needs_overwrite_and_interrupted_runs_resume(tmp_path, cache, monkeypatch):
    out = tmp_path / "o"
    run(["naruto", "--hub-mirror", str(MIRROR), "--out", str(out)], cache)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    r = run(["naruto", "--hub-mirror", str(MIRROR), "--out", str(out)], cache, ok=False)
    assert r.exit_code == 2 and "already exists; pass --overwrite" in r.output

    from vlmdata.sources.captions import CaptionSource

    calls = {"n": 0, "stop": 4}  # file 0 has 3 rows: stop inside file 1
    real = CaptionSource.to_record

    def counting(self, row, ref):
        calls["n"] += 1
        if calls["n"] == calls["stop"]:
            raise KeyboardInterrupt
        return real(self, row, ref)

    monkeypatch.setattr(CaptionSource, "to_record", counting)
    r = run(["naruto", "--hub-mirror", str(MIRROR), "--out", str(out), "--overwrite"], cache, ok=False)
    assert r.exit_code == 130
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the previous folder is untouched
    # no temporary output folder; the finished source file is kept for the rerun
    assert sorted(p.name for p in tmp_path.iterdir()) == [".o.download", "o"]
    assert sorted(p.name for p in (tmp_path / ".o.download").iterdir()) == [
        "plan.json",
        "u00000-train-00000-of-00001.parquet",
        "u00000.json",
    ]
    calls.update(n=0, stop=-1)
    r = run(["naruto", "--hub-mirror", str(MIRROR), "--out", str(out), "--overwrite"], cache, quiet=False)
    assert "Resuming: 1 of 2 source file(s) were already done." in r.output
    assert calls["n"] == 2  # only the rows of file 1 were read again
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]

    # leftovers of a different download are discarded, not mixed in
    (tmp_path / ".o.download").mkdir()
    (tmp_path / ".o.download" / "u00000.json").write_text("{}")
    stale = tmp_path / ".o.tmp-999999999"  # left by a killed run: pid not alive
    stale.mkdir()
    r = run(["naruto", "--hub-mirror", str(MIRROR), "--out", str(out), "--overwrite"], cache, quiet=False)
    assert "Resuming" not in r.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_offline_without_mirror_uses_the_bundled_one_with_a_notice(tmp_path, cache, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.delenv("VLMDATA_HUB_MIRROR", raising=False)
    out = tmp_path / "o"
    r = run(["naruto", "--out", str(out)], cache)
    assert (
        "Notice: HF_HUB_OFFLINE is set; reading the tiny offline mirror of lambdalabs/naruto-blip-captions"
        in r.output
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["loaded_from"] == "bundled" and manifest["rows"] == {"train": 5}
    assert "not the real dataset" in (out / "README.md").read_text()


def test_mirror_from_environment(tmp_path, cache, monkeypatch):
    monkeypatch.setenv("VLMDATA_HUB_MIRROR", str(MIRROR))
    out = tmp_path / "o"
    r = run(["pokemon", "--out", str(out)], cache)
    assert "Notice" not in r.output
    assert json.loads((out / "manifest.json").read_text())["loaded_from"] == "mirror"


def test_unreachable_hub(tmp_path, cache, monkeypatch):
    import huggingface_hub
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("VLMDATA_HUB_MIRROR", raising=False)

    def refuse(self, *a, **k):
        raise ConnectionError("connection refused")

    monkeypatch.setattr(huggingface_hub.HfApi, "dataset_info", refuse)
    r = run(["naruto", "--out", str(tmp_path / "o")], cache)
    assert "the Hub is unreachable (ConnectionError); reading the tiny offline mirror" in r.output
    r = run(["hub:someone/private", "--out", str(tmp_path / "p")], cache, ok=False)
    assert r.exit_code == 1
    assert (
        "the Hub is unreachable (ConnectionError) and no mirror is given, so someone/private cannot be read"
        in r.output
    )
    assert "--hub-mirror DIR" in r.output and not (tmp_path / "p").exists()


def test_network_failure_mid_download(tmp_path, cache, monkeypatch):
    import datasets

    def broken(*a, **k):
        raise ConnectionError("Connection reset by peer")

    monkeypatch.setattr(datasets, "load_dataset", broken)
    r = run(["naruto", "--hub-mirror", str(MIRROR), "--out", str(tmp_path / "o")], cache, ok=False)
    assert r.exit_code == 1
    assert "Error: network failure while reading" in r.output
    assert "Check the connection and rerun" in r.output
    assert not (tmp_path / "o").exists()


def test_quiet_and_non_tty_output_is_clean(tmp_path, cache):
    r = run(["naruto", "--hub-mirror", str(MIRROR), "--out", str(tmp_path / "a")], cache, quiet=False)
    assert (
        r.output == f"Wrote {tmp_path / 'a'}: 5 train rows from lambdalabs/naruto-blip-captions (mirror).\n"
    )
    r = run(["naruto", "--hub-mirror", str(MIRROR), "--out", str(tmp_path / "b")], cache)
    assert r.output == ""


def test_help_shows_sources_and_examples():
    r = CliRunner().invoke(cli, ["download", "--help"])
    assert r.exit_code == 0
    assert "vlmdata download naruto --out data/naruto" in r.output
    assert "the_cauldron, naruto, pokemon, food101" in r.output


def test_fixture_generator_reproduces_the_committed_mirrors(tmp_path):
    gen.make_all(tmp_path / "hub")
    made = {
        p.relative_to(tmp_path / "hub"): p.read_bytes() for p in (tmp_path / "hub").rglob("*") if p.is_file()
    }
    committed = {p.relative_to(MIRROR): p.read_bytes() for p in MIRROR.rglob("*") if p.is_file()}
    assert sorted(made) == sorted(committed)
    assert all(made[k] == committed[k] for k in made)
    assert sum(len(v) for v in committed.values()) < 2_000_000 / 4


def test_download_never_imports_torch(tmp_path):
    """datasets' IterableDataset imports torch when it is installed; vlmdata keeps it out (2-6 s, ~500 MB)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from vlmdata.cli import cli\n"
        f"args = ['download', 'naruto', '--hub-mirror', {str(MIRROR)!r}, '--out', {str(tmp_path / 'o')!r},\n"
        f"        '--streaming', '-q', '--cache-dir', {str(tmp_path / 'c')!r}]\n"
        "r = CliRunner().invoke(cli, args)\n"
        "assert r.exit_code == 0, r.output\n"
        "bad = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_num_proc_prefetch_keeps_source_order(tmp_path, cache):
    args = ["the_cauldron", "--subset", "all", "--hub-mirror", str(MIRROR)]
    run([*args, "--out", str(tmp_path / "a")], cache)
    run([*args, "--out", str(tmp_path / "b"), "--num-proc", "3"], cache)
    assert (tmp_path / "a/train-00000-of-00001.parquet").read_bytes() == (
        tmp_path / "b/train-00000-of-00001.parquet"
    ).read_bytes()


def test_json_formats_and_lossy_targets(tmp_path, cache):
    base = ["the_cauldron", "--subset", "nlvr2", "--hub-mirror", str(MIRROR)]
    run([*base, "--format", "oai", "--out", str(tmp_path / "oai")], cache)
    lines = (tmp_path / "oai/train.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert len(lines) == 2 and first["id"] == "nlvr2-train-00000-000000"
    assert [p["type"] for p in first["messages"][0]["content"]] == ["image", "image", "text"]
    assert all((tmp_path / "oai" / p).is_file() for p in first["images"])
    assert "| train | 2 | `train.jsonl` |" in (tmp_path / "oai/README.md").read_text()

    # single-image LLaVA cannot hold two images per row: stop, keep the downloaded rows, say what to do
    r = run([*base, "--format", "llava", "--out", str(tmp_path / "llava")], cache, ok=False, quiet=False)
    assert r.exit_code == 1
    assert "2 record(s) cannot be expressed in llava without loss" in r.output
    assert "Re-run with --allow-lossy" in r.output
    assert not (tmp_path / "llava").exists()
    r = run(
        [*base, "--format", "llava", "--allow-lossy", "--out", str(tmp_path / "llava")], cache, quiet=False
    )
    assert "Resuming: 1 of 1 source file(s) were already done." in r.output
    assert "conversion_report.json" in json.loads((tmp_path / "llava/manifest.json").read_text())["files"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["llava", "oai"]


def test_quick_start_offline(tmp_path, cache, monkeypatch):
    """The README path with no network and no mirror: download (bundled mirror), convert, info."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.delenv("VLMDATA_HUB_MIRROR", raising=False)
    data = tmp_path / "data"
    run(["naruto", "--out", str(data / "naruto")], cache)
    r = CliRunner().invoke(
        cli, ["convert", str(data / "naruto"), "--to", "sharegpt", "--out", str(data / "lf"), "-q"]
    )
    assert r.exit_code == 0, r.output
    assert check_llamafactory_sharegpt(data / "lf") == 5
    r = CliRunner().invoke(cli, ["info", str(data / "naruto")])
    assert r.exit_code == 0, r.output
    assert "5 records (train: 5), 5 images" in r.output


def test_load_dataset_sees_a_redownload_into_the_same_folder(tmp_path, cache):
    """Two downloads into one path, one datasets cache: load_dataset(DIR) returns the second download's
    rows (a card with a YAML `configs:` block made datasets key its cache on the file patterns and
    return the first download's rows)."""
    import datasets

    out = tmp_path / "naruto"
    seen = []
    for n in (2, 4):
        run(["naruto", "--hub-mirror", str(MIRROR), "--num-train-samples", str(n), "--out", str(out),
             "--overwrite"], cache)  # fmt: skip
        ds = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf-cache"))
        seen.append(ds["train"]["id"])
    assert [len(ids) for ids in seen] == [2, 4]
    assert seen[1] == [r["id"] for r in rows(out)]


def test_library_returns_notices_prints_nothing_and_restores_datasets_settings(
    tmp_path, cache, monkeypatch, capfd
):
    """The library says nothing itself (the CLI prints its notices), and the `datasets` settings a
    download needs (no torch, quiet logging, no progress bars) are set for the call only."""
    import datasets
    from datasets.utils import logging as ds_logging
    from huggingface_hub import constants

    from vlmdata.download import DownloadOptions, download

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.delenv("VLMDATA_HUB_MIRROR", raising=False)
    before = (datasets.config.TORCH_AVAILABLE, ds_logging.get_verbosity(), datasets.is_progress_bar_enabled())
    heard = []
    opts = DownloadOptions("naruto", str(tmp_path / "o"), cache_dir=cache, quiet=True)
    report = download(opts, on_notice=heard.append)
    assert report.notices == heard and heard[0].startswith("Notice: HF_HUB_OFFLINE is set;")
    assert capfd.readouterr() == ("", "")
    after = (datasets.config.TORCH_AVAILABLE, ds_logging.get_verbosity(), datasets.is_progress_bar_enabled())
    assert after == before
