"""Layer 5 (launch): `vlmtrain run`'s entry: check the config (no torch imported), then train here or under
torchrun.

run_command("configs/tiny-cpu.yaml", ["max_steps=5"], Launch(nproc=2))
  -> checks, then runs
     python -m torch.distributed.run --standalone --nproc_per_node 2 -m vlmtrain run configs/tiny-cpu.yaml max_steps=5
     with VLMTRAIN_LAUNCHED=1 so each rank trains instead of launching again.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from vlmtrain.errors import ConfigError, VlmTrainError
from vlmtrain.notices import notice
from vlmtrain.runfolder import LAUNCHED_ENV, check_output_dir, launched


@dataclass
class Launch:
    """torchrun options; nproc 1 with no multi-node flag trains in this process."""

    nproc: int = 1
    nnodes: str | None = None
    node_rank: int | None = None
    master_addr: str | None = None
    master_port: int | None = None

    @property
    def distributed(self) -> bool:
        return self.nproc > 1 or self.nnodes not in (None, "1")


def torchrun_command(config: str, overrides: list[str], launch: Launch) -> list[str]:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(launch.nproc)]
    if launch.nnodes in (None, "1") and launch.master_addr is None:
        cmd.append("--standalone")  # single node: torchrun picks a free port itself
    else:
        for flag, value in (
            ("--nnodes", launch.nnodes),
            ("--node_rank", launch.node_rank),
            ("--master_addr", launch.master_addr),
            ("--master_port", launch.master_port),
        ):
            if value is not None:
                cmd += [flag, str(value)]
    return [*cmd, "-m", "vlmtrain", "run", str(config), *overrides]


def run_command(config: str, overrides: list[str], launch: Launch | None = None) -> Path | None:
    """Check the config (every problem at once), then train: in this process, or re-executed under
    torchrun with `launch.nproc` processes per node. Returns the output folder (None from a launcher)."""
    from vlmtrain.config import load_config, resolve_template_date

    launch = launch or Launch()
    cfg = load_config(config, overrides)
    if cfg.get("fsdp") and not launch.distributed and int(os.environ.get("WORLD_SIZE", "1")) < 2:
        raise ConfigError(
            ["fsdp: sharding needs several processes; run with --nproc N (N >= 2)"], str(config)
        )
    if not launched():  # the ranks of a launched run skip it: rank 0 may have begun
        check_output_dir(cfg, str(config))
        # The run's one chat-template date, resolved before any rank starts (ranks started around
        # midnight would otherwise render different days); the ranks get it as an override.
        cfg["template_date"] = resolve_template_date(cfg)[0]
    if launch.distributed and not launched():
        cmd = torchrun_command(config, [*overrides, f"template_date={cfg['template_date']}"], launch)
        notice("vlmtrain: " + " ".join(cmd))
        env = {**os.environ, LAUNCHED_ENV: "1"}
        code = subprocess.run(cmd, env=env).returncode
        if code != 0:
            raise VlmTrainError(f"torchrun exited with status {code} (see the ranks' output above)")
        return Path(cfg["output_dir"])
    from vlmtrain.train import train

    return train(cfg)
