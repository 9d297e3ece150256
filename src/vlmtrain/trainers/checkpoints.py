"""Layer 3 (trainers): the Trainer side of atomic checkpoints: complete or absent, whatever kills the run.

The Trainer writes checkpoint-N in several steps (weights, optimizer, scheduler, RNG states, and
trainer_state.json last); a run killed between them used to leave a checkpoint-N that
`resume_from_checkpoint: true` then picked and failed on. Here every save goes to
`<output_dir>/.incomplete/checkpoint-N` and is renamed to `<output_dir>/checkpoint-N` once every rank has
finished writing it (the folder names and the resume rules: `vlmtrain.runfolder`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from vlmdata.atomic import replace_folder
from vlmtrain.runfolder import STAGING, STATE_NAME


class AtomicCheckpoints:
    """Trainer mixin (`class T(AtomicCheckpoints, SFTTrainer)`): each checkpoint is written under
    .incomplete/ and renamed into place when every rank has written its part."""

    _staging_save = False

    def _get_output_dir(self, trial):
        run_dir = super()._get_output_dir(trial)
        return os.path.join(run_dir, STAGING) if self._staging_save else run_dir

    def _save_checkpoint(self, model, trial):
        from transformers.trainer_utils import rotate_checkpoints

        run_dir = Path(super()._get_output_dir(trial))
        name = f"checkpoint-{self.state.global_step}"
        staged, final = run_dir / STAGING / name, run_dir / name
        if self.args.should_save:
            shutil.rmtree(staged, ignore_errors=True)
        self.accelerator.wait_for_everyone()
        self._staging_save = True
        try:
            super()._save_checkpoint(model, trial)
        finally:
            self._staging_save = False
        self.accelerator.wait_for_everyone()  # every rank's shards and RNG state are on disk
        if self.args.should_save:
            if self.state.best_model_checkpoint == str(staged):
                # This step is the best so far: the Trainer recorded the staging path.
                self.state.best_model_checkpoint = str(final)
                self.state.save_to_json(str(staged / STATE_NAME))
            replace_folder(staged, final)  # an older checkpoint-N (a re-run step) stays whole until then
            with contextlib.suppress(OSError):  # empty now, unless another save is under way
                staged.parent.rmdir()
            rotate_checkpoints(
                output_dir=str(run_dir),
                save_total_limit=self.args.save_total_limit,
                best_model_checkpoint=self.state.best_model_checkpoint,
                use_mtime=True,
            )
        self.accelerator.wait_for_everyone()
