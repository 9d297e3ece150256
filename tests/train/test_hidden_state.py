"""No hidden state: changes to other libraries' settings last only for the call that needs them, and the
trainer classes are made by cached factories, not kept in module globals."""

from __future__ import annotations

import ast
from pathlib import Path

import datasets
import pytest
from transformers.utils import logging as hf_logging

from vlmtrain.notices import quiet_progress_bars

SRC = Path(__file__).resolve().parents[2] / "src" / "vlmtrain"


@pytest.mark.parametrize("before", [True, False])
def test_progress_bars_are_silenced_only_inside(before):
    set_datasets = datasets.enable_progress_bars if before else datasets.disable_progress_bars
    set_transformers = hf_logging.enable_progress_bar if before else hf_logging.disable_progress_bar
    was = (not datasets.are_progress_bars_disabled(), hf_logging.is_progress_bar_enabled())
    try:
        set_datasets()
        set_transformers()
        with quiet_progress_bars():
            assert datasets.are_progress_bars_disabled()
            assert not hf_logging.is_progress_bar_enabled()
        assert datasets.are_progress_bars_disabled() is not before
        assert hf_logging.is_progress_bar_enabled() is before
        with pytest.raises(RuntimeError), quiet_progress_bars():
            raise RuntimeError("restored on the way out too")
        assert hf_logging.is_progress_bar_enabled() is before
    finally:
        (datasets.enable_progress_bars if was[0] else datasets.disable_progress_bars)()
        (hf_logging.enable_progress_bar if was[1] else hf_logging.disable_progress_bar)()


def test_no_module_level_global_statement():
    """`global x` anywhere in vlmtrain would be module state changed at run time."""
    found = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Global):
                found.append(f"{path.relative_to(SRC)}:{node.lineno} global {', '.join(node.names)}")
    assert not found


def test_trainer_factories_return_one_class():
    from vlmtrain.trainers import grouped_trainer_class, packed_trainer_class

    assert grouped_trainer_class() is grouped_trainer_class()
    assert packed_trainer_class() is packed_trainer_class()
    assert issubclass(packed_trainer_class(), grouped_trainer_class())
