"""Layer 6 (CLI): the `vlmtrain` click group: one module per command, no logic here; errors become clean
messages."""

from __future__ import annotations

import functools
import sys

import click

from vlmdata.boundary import error_boundary
from vlmtrain import __version__

# Top-level modules of the `[train]` extra: `pip install vlmkit` alone leaves them out.
TRAIN_MODULES = frozenset(
    {
        "torch",
        "transformers",
        "trl",
        "peft",
        "accelerate",
        "tensorboard",
        "matplotlib",
        "sacrebleu",
        "rouge_score",
    }
)
_boundary = (
    error_boundary()
)  # library exceptions -> `Error: ...` and their exit code; Ctrl-C is left to the trainer


def handle_errors(fn):
    """The error boundary, plus one line (exit 2, no traceback) when the command needs the `[train]`
    extra that a plain `pip install vlmkit` did not install."""
    guarded = _boundary(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return guarded(*args, **kwargs)
        except ModuleNotFoundError as exc:
            missing = (exc.name or "").split(".")[0]
            if missing not in TRAIN_MODULES:
                raise
            ctx = click.get_current_context(silent=True)
            command = ctx.command_path if ctx is not None else "vlmtrain"
            click.echo(
                f"Error: {command} needs the training libraries (no module {missing!r}); "
                "install them with: pip install 'vlmkit[train]'",
                err=True,
            )
            sys.exit(2)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vlmtrain")
def cli():
    """Train, check, predict, evaluate and merge vision-language models on vlmdata shards.

    \b
    vlmtrain make-tiny-model qwen2_vl --out models/tiny-qwen2vl
    vlmtrain check configs/tiny-cpu.yaml
    vlmtrain run configs/tiny-cpu.yaml
    """
    from vlmtrain.notices import show_on_stderr

    show_on_stderr()  # library notices (vlmtrain.notices) go to stderr, as the commands' own lines do


# Command modules register themselves here (each imports nothing heavy at module level).
COMMAND_MODULES: list[str] = ["make_tiny_model", "check", "run", "predict", "eval", "merge"]


def _register() -> None:
    import importlib

    for name in COMMAND_MODULES:
        cli.add_command(importlib.import_module(f"vlmtrain.cli.{name}").command)


_register()


def main() -> None:
    cli(prog_name="vlmtrain")
