"""`python kill_run.py WHERE STEP ARGS...`: run `vlmtrain ARGS...` and SIGKILL this process at a chosen moment,
as an out-of-memory killer or a preempted node would.

WHERE save:  while checkpoint-STEP is being written (weights and optimizer on disk, RNG state and
             trainer_state.json not yet)
WHERE train: when the optimizer step after STEP begins (checkpoint-STEP, if due, is complete)
"""

from __future__ import annotations

import os
import signal
import sys

import transformers


def _kill_when(step: int):
    def check(trainer):
        if trainer.state.global_step == step:
            os.kill(os.getpid(), signal.SIGKILL)

    return check


def main() -> None:
    where, step, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    check = _kill_when(step)
    name = {"save": "_save_rng_state", "train": "training_step"}[where]
    original = getattr(transformers.Trainer, name)

    def patched(self, *a, **k):
        check(self)
        return original(self, *a, **k)

    setattr(transformers.Trainer, name, patched)
    from vlmtrain.cli import cli

    cli(args, prog_name="vlmtrain")


if __name__ == "__main__":
    main()
