"""The run folder's staging rules (torch-free)."""

from __future__ import annotations


def test_clear_staging_removes_a_killed_save_and_a_checkpoint_moved_aside(tmp_path):
    """A save killed midway leaves .incomplete/; one killed between replace_folder's two renames leaves
    the older checkpoint-N moved aside as .checkpoint-N.old-PID: both go, complete checkpoints stay."""
    from vlmtrain.runfolder import STAGING, checkpoints, clear_staging

    (tmp_path / STAGING / "checkpoint-4").mkdir(parents=True)
    (tmp_path / ".checkpoint-4.old-123").mkdir()
    (tmp_path / "checkpoint-2").mkdir()
    (tmp_path / "trainer_log.jsonl").write_text("{}\n")
    clear_staging(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-2", "trainer_log.jsonl"]
    assert checkpoints(tmp_path) == [tmp_path / "checkpoint-2"]
