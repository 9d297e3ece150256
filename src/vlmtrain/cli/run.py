"""Layer 6 (CLI): `vlmtrain run CONFIG.yaml [KEY=VALUE ...]`."""

from __future__ import annotations

import click

from vlmtrain.cli import handle_errors


@click.command("run")
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("overrides", nargs=-1)
@click.option(
    "--nproc",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Processes per node; above 1 re-runs under torchrun (DDP, or FSDP with `fsdp: full_shard`).",
)
@click.option("--nnodes", default=None, help="torchrun --nnodes (e.g. 2, or 1:4 for elastic).")
@click.option("--node-rank", type=int, default=None, help="torchrun --node_rank of this machine.")
@click.option("--master-addr", default=None, help="torchrun --master_addr (the rank-0 machine).")
@click.option("--master-port", type=int, default=None, help="torchrun --master_port.")
@handle_errors
def command(config, overrides, nproc, nnodes, node_rank, master_addr, master_port):
    """Train a vision-language model on vlmdata shards as CONFIG.yaml describes.

    KEY=VALUE pairs override keys of the config (values are YAML: 1e-4, true, [q_proj,v_proj]).
    The config is checked first, every problem listed at once, before torch is imported.
    The output folder gets the weights (or LoRA adapter), the processor, vlmtrain_config.yaml,
    trainer_log.jsonl, TensorBoard logs and loss.png.

    \b
    vlmtrain run configs/tiny-cpu.yaml
    vlmtrain run configs/qwen2vl-7b-qlora.yaml learning_rate=1e-4 num_train_epochs=2
    vlmtrain run configs/llama32-11b-vision-lora-fsdp.yaml --nproc 8
    vlmtrain run cfg.yaml --nproc 8 --nnodes 2 --node-rank 0 --master-addr 10.0.0.1 --master-port 29500
    """
    from vlmtrain.launch import Launch, run_command
    from vlmtrain.runfolder import launched

    out = run_command(config, list(overrides), Launch(nproc, nnodes, node_rank, master_addr, master_port))
    if not launched():  # under torchrun the launching process reports
        click.echo(f"trained: {out}")
