"""Registry lookups, label alignment and the make-tiny-model CLI (no model needed except the last)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.train


def test_resolve_family_unknown_name_lists_supported():
    from vlmtrain.errors import VlmTrainError
    from vlmtrain.families import MODEL_TYPES, NAMES, resolve_family

    with pytest.raises(VlmTrainError, match="'bert' is not a supported.*qwen2_vl"):
        resolve_family("bert")
    assert resolve_family("qwen2_vl").name == "qwen2_vl"
    assert resolve_family(resolve_family("qwen2_vl")) is resolve_family("qwen2_vl")
    assert set(NAMES) <= set(MODEL_TYPES)
    assert {m for n in NAMES for m in resolve_family(n).model_types} == set(MODEL_TYPES)


def test_family_for_text_only_model_is_an_error(tmp_path):
    from vlmtrain.errors import VlmTrainError
    from vlmtrain.families import resolve_family

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(VlmTrainError, match="'llama' is a text-only model"):
        resolve_family(tmp_path)
    with pytest.raises(VlmTrainError, match="model folder does not exist"):
        resolve_family(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(VlmTrainError, match="no config.json"):
        resolve_family(tmp_path / "empty")
    assert resolve_family({"model_type": "qwen2_vl"}).name == "qwen2_vl"


def test_align_labels_carries_labels_over_image_expansion():
    from vlmtrain.encoding.align import align_labels

    img = {9}
    # plain: [1, <img>, 2, 3, 4]; expanded: [1, <img>x3, 7, 2, 3, 4] (the processor added token 7 after it)
    got = align_labels([1, 9, 2, 3, 4], [-100, -100, -100, 3, 4], [1, 9, 9, 9, 7, 2, 3, 4], img, {"id": "x"})
    assert got == [-100, -100, -100, -100, -100, -100, 3, 4]


def test_align_labels_tolerates_whitespace_the_processor_adds_at_both_segment_ends():
    from vlmtrain.encoding.align import align_labels

    # Gemma3-like: every image (9) wrapped in whitespace (4 = "\n\n", 3 = "\n"); the segment holding
    # the trained 5, 6 changes at both ends, so prefix/suffix matching alone finds nothing in common.
    u = [9, 5, 6, 3, 9, 7]
    u_labels = [-100, 5, 6, -100, -100, -100]
    e = [4, 9, 4, 5, 6, 4, 9, 4, 7]
    got = align_labels(u, u_labels, e, {9}, {"id": "x"}, space_ids={3, 4})
    assert got == [-100, -100, -100, 5, 6, -100, -100, -100, -100]


def test_align_labels_refuses_a_changed_trained_token():
    from vlmtrain.encoding.align import align_labels
    from vlmtrain.errors import VlmTrainError

    # the processor merged the trained 6 with its neighbour into 8: no equal stretch holds it
    with pytest.raises(
        VlmTrainError, match=r"record 'x': cannot align assistant tokens.*\[6, 3\] became \[8\]"
    ):
        align_labels([9, 5, 6, 3, 9], [-100, 5, 6, -100, -100], [9, 4, 5, 8, 9], {9}, {"id": "x"}, {3, 4})
    # a non-whitespace change next to trained tokens is refused even when no trained token is lost
    with pytest.raises(VlmTrainError, match="record 'x': cannot align assistant tokens"):
        align_labels([9, 5, 6, 3, 9], [-100, 5, 6, -100, -100], [9, 7, 5, 6, 7, 9], {9}, {"id": "x"}, {3, 4})


def test_align_labels_refuses_mismatched_image_runs():
    from vlmtrain.encoding.align import align_labels
    from vlmtrain.errors import VlmTrainError

    with pytest.raises(VlmTrainError, match="record 'x': the processor produced 2 image-token run"):
        align_labels([1, 9, 2], [-100, -100, 2], [1, 9, 2, 9, 3], {9}, {"id": "x"})


def test_cli_make_tiny_model(tmp_path):
    from vlmtrain.cli import cli

    out = tmp_path / "m"
    res = CliRunner().invoke(cli, ["make-tiny-model", "qwen2_vl", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "config.json").read_text())["model_type"] == "qwen2_vl"
    res = CliRunner().invoke(cli, ["make-tiny-model", "qwen2_vl", "--out", str(out)])
    assert res.exit_code == 1 and "exists and is not empty" in res.output
    res = CliRunner().invoke(cli, ["make-tiny-model", "nope", "--out", str(tmp_path / "n")])
    assert res.exit_code == 1 and "no tiny model for 'nope'" in res.output


def test_cli_make_tiny_model_help_lists_the_registry():
    from vlmtrain.cli import cli
    from vlmtrain.families import NAMES

    res = CliRunner().invoke(cli, ["make-tiny-model", "--help"], terminal_width=1000)
    assert res.exit_code == 0
    listed = res.output.split("FAMILY is one of", 1)[1].splitlines()[1:]
    assert [line.split(":")[0].strip() for line in listed if line.strip()] == list(NAMES)


# ---- one registry: family names are spelled nowhere in src/ but the family's package and the registry


def _spelled_names(path, pattern):
    """(line, name) for every family name in a file's identifiers, imported module paths and string
    literals (docstrings excepted: they document, they do not branch or list)."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    found = []
    for node in ast.walk(tree):
        texts = []
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            texts.append(node.value)
        elif isinstance(node, ast.Name):
            texts.append(node.id)
        elif isinstance(node, ast.Attribute):
            texts.append(node.attr)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            texts.append(node.name)
        elif isinstance(node, ast.arg):
            texts.append(node.arg)
        elif isinstance(node, ast.alias):
            texts += [node.name, node.asname or ""]
        elif isinstance(node, ast.ImportFrom):
            texts.append(node.module or "")
        for text in texts:
            found += [
                (node.lineno if hasattr(node, "lineno") else 0, m.group(0))
                for m in pattern.finditer(text.lower())
            ]
    return found


def test_family_names_are_spelled_only_in_their_package_and_the_registry():
    import re
    from pathlib import Path

    import vlmdata.formats
    import vlmtrain
    from vlmtrain.families import MODEL_TYPES, PACKAGES, resolve_family

    src = Path(vlmtrain.__file__).parent.parent
    families_dir = src / "vlmtrain" / "families"
    owner = {mt: resolve_family(mt).name for mt in MODEL_TYPES}
    names = sorted(owner, key=len, reverse=True)  # longest first: "llava_next" is not "llava" + "_next"
    pattern = re.compile(rf"(?<![a-z0-9])({'|'.join(map(re.escape, names))})(?![a-z0-9])")
    data_formats = set(vlmdata.formats.FORMATS)  # vlmdata's "llava" is a data format, not a family
    offenders = []
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src)
        if path == families_dir / "__init__.py":
            continue  # the registry
        package = path.parent.name if path.parent.parent == families_dir else None
        with_parent = _parents(path) if package else set()
        for line, name in _spelled_names(path, pattern):
            if owner[name] == package or owner[name] in with_parent:
                continue
            if rel.parts[0] == "vlmdata" and name in data_formats:
                continue
            offenders.append(f"{rel}:{line}: {name!r}")
    assert PACKAGES and not offenders, "family names outside their package and the registry:\n" + "\n".join(
        offenders
    )


def _parents(path) -> set[str]:
    """Family packages a family package imports from (a sibling builds on its parent's package)."""
    import ast

    tree = ast.parse(path.parent.joinpath("__init__.py").read_text(encoding="utf-8"))
    return {
        node.module.split(".")[2]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith("vlmtrain.families.")
        and not node.module.split(".")[2].startswith("_")
        and node.module.split(".")[2] not in ("base", "align")
    }


def test_every_model_type_loads_with_its_own_model_class():
    """A family spanning dense and MoE checkpoints (Qwen3-VL, Qwen3.5, GLM-4V) picks the class whose
    config is that model type; train's meta-device FSDP probe and load_model both go through it."""
    import transformers

    from vlmtrain.families import MODEL_TYPES, resolve_family

    for model_type, fam in ((mt, resolve_family(mt)) for mt in MODEL_TYPES):
        cls = getattr(transformers, fam.model_class_for(model_type))
        assert cls.config_class.model_type == model_type, (model_type, cls.__name__)
