"""`pip install vlmkit` without the [train] extra, as a user gets it from a wheel: a fresh venv holding the
built wheel and only the base dependencies (no torch, transformers, trl, peft), offline, outside any
checkout. `vlmdata download naruto` works from the mirror shipped as package data; `vlmtrain` commands
that need the training libraries say which extra to install, in one line, exit 2.

Offline and without downloads: the wheel is built with `--no-build-isolation`, installed with
`--no-deps --no-index`, and the base dependencies come from this interpreter's site-packages, linked
one distribution at a time (the closure of vlmkit's `dependencies`, nothing of `[train]`).
"""

from __future__ import annotations

import importlib.metadata as md
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
TRAIN_ONLY = {"torch", "transformers", "trl", "peft", "accelerate"}


def base_closure() -> set[str]:
    """Distribution names vlmkit's base `dependencies` need, recursively (extras and markers evaluated)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    todo = [Requirement(r) for r in project["dependencies"]]
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = md.distribution(req.name).metadata["Name"].lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        todo += [Requirement(r) for r in md.distribution(name).requires or []]
    return seen


def link_distributions(names: set[str], into: Path) -> None:
    """Link each distribution's top-level files and folders (its packages and its .dist-info) into `into`."""
    into.mkdir(parents=True)
    site = Path(sysconfig.get_paths()["purelib"])
    for name in names:
        dist = md.distribution(name)
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops - {"__pycache__"}:
            src = Path(dist.locate_file(top))
            if src.exists() and not (into / top).exists():
                (into / top).symlink_to(src)
        assert site.exists()


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("wheel")
    # Build from a copy of the tree, so the checkout gets no build/ or egg-info.
    tree = root / "tree"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(REPO / "src", tree / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, tree / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(root / "dist"), str(tree)],
        check=True,
        capture_output=True,
    )
    wheel = next((root / "dist").glob("vlmkit-*.whl"))
    venv = root / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [*pip, "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    closure = base_closure()
    assert not closure & TRAIN_ONLY, closure & TRAIN_ONLY
    link_distributions(closure, root / "deps")
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(purelib) / "vlmkit-base-deps.pth").write_text(str(root / "deps") + "\n")
    return venv


def run(venv: Path, cwd: Path, *cmd: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_HOME=str(cwd / "hf-home"))
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(list(cmd), cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_bare_install_has_no_training_libraries(bare_venv, tmp_path):
    done = run(bare_venv, tmp_path, "python", "-c", "import vlmdata, vlmtrain; import torch")
    assert done.returncode == 1 and "No module named 'torch'" in done.stderr
    located = run(bare_venv, tmp_path, "python", "-c", "import vlmdata; print(vlmdata.__file__)")
    assert located.stdout.startswith(str(bare_venv))  # the wheel's copy, not the checkout


def test_download_naruto_offline_from_the_wheel(bare_venv, tmp_path):
    done = run(bare_venv, tmp_path, "vlmdata", "download", "naruto", "--out", "data/naruto")
    assert done.returncode == 0, done.stderr
    mirror = next(bare_venv.glob("lib/python*/site-packages/vlmdata/sources/mirror"))
    assert (
        "Notice: HF_HUB_OFFLINE is set; reading the tiny offline mirror of lambdalabs/naruto-blip-captions "
        f"bundled with vlmkit ({mirror / 'lambdalabs' / 'naruto-blip-captions'})" in done.stderr
    )
    assert "Wrote data/naruto: 5 train rows from lambdalabs/naruto-blip-captions (bundled)." in done.stdout
    assert sorted(p.name for p in (tmp_path / "data" / "naruto").glob("*.parquet")) == [
        "train-00000-of-00001.parquet"
    ]
    validated = run(bare_venv, tmp_path, "vlmdata", "validate", "data/naruto")
    assert validated.returncode == 0, validated.stdout + validated.stderr


@pytest.mark.parametrize("command", ["run", "check"])
def test_vlmtrain_names_the_train_extra(bare_venv, tmp_path, command):
    """The quick start's config, valid (the config check itself needs no training library), then the
    command that needs them."""
    assert run(bare_venv, tmp_path, "vlmdata", "download", "naruto", "--out", "data/naruto").returncode == 0
    config = tmp_path / "tiny-cpu.yaml"
    config.write_text((REPO / "configs" / "tiny-cpu.yaml").read_text())
    (tmp_path / "models" / "tiny-qwen2vl").mkdir(parents=True)
    (tmp_path / "models" / "tiny-qwen2vl" / "config.json").write_text('{"model_type": "qwen2_vl"}')
    done = run(bare_venv, tmp_path, "vlmtrain", command, "tiny-cpu.yaml")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"Error: vlmtrain {command} needs the training libraries (no module 'transformers'); "
        "install them with: pip install 'vlmkit[train]'\n"
    )
