"""`--engine ray` on a real two-node Ray cluster (tests/ray_helpers.py): convert, validate and download
give the single-machine run's output byte for byte, the same reports for bad records, and nothing
partial when a worker is killed. The cluster runs once for the module, inside a private network
namespace; every command's single-machine twin runs here, in this process."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from data_helpers import record, write_canonical
from ray_helpers import pair_records, ray_missing_reason, run_in_cluster, write_captions, write_pairs
from vlmdata.cli import cli

SMALL_PARTS = {"VLMDATA_RAY_UNIT_BYTES": "8000"}  # tiny files cut into several parts per file


def _bad_role(r):
    r["messages"][0]["role"] = "bot"
    return r


def _missing_image(r):
    r["images"] = ["images/missing.png"]
    return r


# name -> (CLI args run with --engine ray in the cluster and without it here, environment)
COMMANDS = {
    "pairs_parquet": (["convert", "pairs", "--to", "parquet", "--out", "{o}", "--max-shard-size", "20KB"], SMALL_PARTS),
    "pairs_sharegpt": (["convert", "pairs", "--to", "sharegpt", "--out", "{o}"], SMALL_PARTS),
    "pairs_llava": (["convert", "pairs", "--to", "llava", "--out", "{o}"], SMALL_PARTS),
    "captions": (["convert", "captions", "--to", "parquet", "--out", "{o}", "--max-shard-size", "20KB"],
                 {"VLMDATA_RAY_UNIT_BYTES": "20000"}),
    "canonical": (["convert", "canonical", "--to", "parquet", "--out", "{o}", "--max-shard-size", "3KB"],
                  {"VLMDATA_RAY_UNIT_BYTES": "500"}),
    "bad": (["convert", "bad", "--to", "parquet", "--out", "{o}", "-q"], SMALL_PARTS),
    "bad_skip": (["convert", "bad", "--to", "parquet", "--out", "{o}", "-q", "--skip-invalid"], SMALL_PARTS),
    "validate_bad": (["validate", "bad", "--json"], SMALL_PARTS),
    "validate_good": (["validate", "pairs", "--json"], SMALL_PARTS),
    "validate_captions": (["validate", "captions", "--json"], {}),
    "download": (["download", "captions", "--out", "{o}", "-q", "--val-ratio", "0.2"], {}),
    "download_bad": (["download", "bad", "--out", "{o}", "-q"], {}),
    "download_skip": (["download", "badimg", "--out", "{o}", "-q", "--skip-invalid", "--num-train-samples", "250"], {}),
}  # fmt: skip
KILLED = ["convert", "big", "--to", "parquet", "--out", "ray/killed", "-q", "--max-shard-size", "1MB"]
# the Ray task whose worker is killed in each run: a part's conversion, a shard's writing
KILLED_IN = {"killed": "convert_part", "killed_write": "write_shard"}
PIPELINE = """
import ray, pyarrow as pa, vlmdata.ray
ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
ctx = ray.data.DataContext.get_current()
ctx.execution_options.preserve_order = True
rows = [r for r in map(__import__("json").loads, open("pairs/train.jsonl"))]
ds = ray.data.from_arrow(pa.Table.from_pylist(rows)).repartition(4)
checked = ds.map_batches(vlmdata.ray.Validate(format="sharegpt", root="pairs"), batch_format="pyarrow")
out = ds.map_batches(vlmdata.ray.Convert(format="sharegpt", root="pairs"), batch_format="pyarrow")
result = {"problems": int(sum(len(p) for p in checked.to_pandas()["problems"])),
          "rows": out.count(), "bytes": int(sum(out.to_pandas()["images"].map(lambda i: len(i[0]["bytes"])))),
          "nodes": len({n["NodeID"] for n in ray.nodes() if n["Alive"]})}
"""


@contextlib.contextmanager
def chdir(path: Path):
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def run_local(root: Path, args: list[str], env: dict):
    with chdir(root), pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        return CliRunner().invoke(cli, args, catch_exceptions=False)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = ray_missing_reason()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("ray-engine")
    write_pairs(root / "pairs", pair_records(240))
    bad = {40: _bad_role, 170: _missing_image, 210: _missing_image}
    write_pairs(root / "bad", pair_records(240, bad=bad), lines={100: '{"messages": [,]}'})
    write_pairs(root / "badimg", pair_records(240, bad={170: _missing_image, 210: _missing_image}))
    write_captions(root / "captions" / "train.parquet", 400)
    write_captions(root / "big" / "train.parquet", 6000, row_group=500)
    write_canonical(root / "canonical", [record(f"c{i}", images=1 + i % 2) for i in range(150)])
    commands = [
        {"args": [a.replace("{o}", f"ray/{name}") for a in args], "env": env}
        for name, (args, env) in COMMANDS.items()
    ]
    for name, fn in KILLED_IN.items():
        args = [a.replace("ray/killed", f"ray/{name}") for a in KILLED]
        commands.append({"kill": args, "fn": fn, "env": {"VLMDATA_RAY_UNIT_BYTES": "4000000"}})
    commands.append({"python": PIPELINE})
    results = run_in_cluster(root, commands)
    return root, dict(zip([*COMMANDS, *KILLED_IN, "pipeline"], results, strict=True))


def tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def local_twin(root: Path, name: str):
    args, env = COMMANDS[name]
    return run_local(root, [a.replace("{o}", f"local/{name}") for a in args], env)


pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "name",
    ["pairs_parquet", "pairs_sharegpt", "pairs_llava", "captions", "canonical", "bad_skip", "download"],
)
def test_output_is_byte_identical(cluster, name):
    root, results = cluster
    ray_run, local = results[name], local_twin(root, name)
    assert ray_run["exit_code"] == 0 == local.exit_code, ray_run["stderr"] + local.output
    ours, theirs = tree(root / "ray" / name), tree(root / "local" / name)
    assert ours == theirs
    if name in ("pairs_parquet", "captions", "canonical"):  # several shards, named as on one machine
        shards = [f for f in ours if f.endswith(".parquet")]
        assert len(shards) >= 2 and shards[-1] == f"train-{len(shards) - 1:05d}-of-{len(shards):05d}.parquet"
    assert ray_run["stderr"].replace("ray/", "local/") == local.stderr


def test_bad_records_reported_as_on_one_machine(cluster):
    root, results = cluster
    ray_run, local = results["bad"], local_twin(root, "bad")
    assert ray_run["exit_code"] == 1 == local.exit_code
    assert ray_run["stderr"].replace("ray/", "local/") == local.stderr
    assert "bad/train.jsonl:101 record 100: malformed JSON" in local.stderr
    assert "bad/train.jsonl:211 record 210 $.images[0]: image file does not exist" in local.stderr
    assert "5 problem(s) in 4 of 240 record(s)" in local.stderr
    assert not (root / "ray" / "bad").exists()
    assert not [p for p in (root / "ray").iterdir() if p.name.startswith(".bad")]


def test_skip_invalid_lists_every_skipped_record(cluster):
    root, results = cluster
    report = json.loads((root / "ray" / "bad_skip" / "conversion_report.json").read_text())
    assert [s["record"] for s in report["skipped"]] == [40, 100, 170, 210]
    assert report["rows"] == {"train": 236}
    assert "Skipped 4 invalid record(s)" in results["bad_skip"]["stderr"]


@pytest.mark.parametrize("name", ["validate_bad", "validate_good", "validate_captions"])
def test_validate_report_is_the_same(cluster, name):
    root, results = cluster
    ray_run, local = results[name], local_twin(root, name)
    assert ray_run["exit_code"] == local.exit_code == (1 if name == "validate_bad" else 0)
    ours, theirs = json.loads(ray_run["output"]), json.loads(local.stdout)
    ours.pop("seconds"), theirs.pop("seconds")
    assert ours == theirs
    if name == "validate_bad":
        assert [(p["record"], p["line"]) for p in ours["problems"]] == [
            (40, 41),
            (40, 41),
            (100, 101),
            (170, 171),
            (210, 211),
        ]


def test_download_bad_rows_and_skip(cluster):
    root, results = cluster
    for name in ("download_bad", "download_skip"):
        ray_run, local = results[name], local_twin(root, name)
        assert ray_run["exit_code"] == local.exit_code == (1 if name == "download_bad" else 0)
        assert ray_run["stderr"].replace("ray/", "local/") == local.stderr
    assert not (root / "ray" / "download_bad").exists()
    assert tree(root / "ray" / "download_skip") == tree(root / "local" / "download_skip")
    manifest = json.loads((root / "ray" / "download_skip" / "manifest.json").read_text())
    assert [s["row"] for s in manifest["skipped"]] == [170, 210]


@pytest.mark.parametrize("name", list(KILLED_IN))
def test_killed_worker_gives_identical_output_or_nothing(cluster, name):
    root, results = cluster
    killed = results[name]
    assert killed["killed"], f"no Ray worker was seen running {KILLED_IN[name]}: the kill did not happen"
    if killed["exit_code"] == 0:  # Ray retried the lost task
        if not (root / "local" / "killed").exists():  # the twin of both killed runs
            local = run_local(root, [a.replace("ray/", "local/") for a in KILLED], {})
            assert local.exit_code == 0
        assert tree(root / "ray" / name) == tree(root / "local" / "killed")
    else:
        assert "nothing was written" in killed["stderr"]
        assert not (root / "ray" / name).exists()
    assert not [p for p in (root / "ray").iterdir() if p.name.startswith(f".{name}")]


def test_per_batch_steps_in_a_ray_data_pipeline(cluster):
    _, results = cluster
    result = results["pipeline"]["result"]
    assert result["problems"] == 0 and result["rows"] == 240 and result["nodes"] == 2
    assert result["bytes"] > 0


def test_engine_ray_without_ray_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    write_canonical(tmp_path / "src", [record("a")])
    for args in (
        [
            "convert",
            str(tmp_path / "src"),
            "--to",
            "parquet",
            "--out",
            str(tmp_path / "o"),
            "--engine",
            "ray",
        ],
        ["validate", str(tmp_path / "src"), "--engine", "ray"],
        ["download", str(tmp_path / "src"), "--out", str(tmp_path / "d"), "--engine", "ray"],
    ):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, result.output
        assert "install it with: pip install 'vlmkit[ray]'" in result.stderr
        assert not (tmp_path / "o").exists() and not (tmp_path / "d").exists()
