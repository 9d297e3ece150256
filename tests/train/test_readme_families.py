"""The README's family table is the registry: every registered family has one row, naming its model
types, whether it trains on videos (its spec's video rule), config files that exist and whose real chat
template its tiny model carries (the spec's `template_note`), and no row names a family that is not
registered."""

from __future__ import annotations

import re
from pathlib import Path

from vlmtrain.families import NAMES, resolve_family

ROOT = Path(__file__).resolve().parents[2]


def table_rows() -> dict[str, list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Model families", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 8:
            rows[cells[0].strip("`")] = cells
    return rows


def test_readme_lists_every_registered_family_with_its_model_types_and_configs():
    rows = table_rows()
    assert list(rows) == list(NAMES)
    for name, family in ((n, resolve_family(n)) for n in NAMES):
        assert [t.strip() for t in rows[name][1].split(",")] == list(family.model_types)
        assert (rows[name][5] == "yes") is (family.video is not None), (name, rows[name][5])
        configs = re.findall(r"`([^`]+\.yaml)`", rows[name][6])
        assert configs, name
        for config in configs:
            assert (ROOT / "configs" / config).is_file(), config
        assert rows[name][7] == family.template_note, name
