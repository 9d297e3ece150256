"""The `vlmdata` click group. Commands live one per module and hold no logic: each calls one library
function and turns domain exceptions into clean messages at this boundary (no tracebacks)."""

from __future__ import annotations

import click

from vlmdata import __version__
from vlmdata.boundary import error_boundary

# Turn library exceptions into `Error: ...` on stderr and the exception's exit code.
# Ctrl-C: only `download` keeps what it fetched (its cache); `convert` has nothing to resume from.
handle_errors = error_boundary(
    "Interrupted: nothing was written to the output path; run the same command again "
    "(a download resumes where it stopped, a convert starts over)."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vlmdata")
def cli():
    """Download, convert, validate and inspect vision-language fine-tuning datasets.

    \b
    vlmdata download naruto --out data/naruto
    vlmdata validate data/naruto
    vlmdata convert data/naruto --to sharegpt --out data/naruto-lf
    vlmdata info data/naruto
    """


# Command modules register themselves here (each imports nothing heavy at module level).
COMMAND_MODULES: list[str] = ["convert", "info", "download", "validate", "view"]


def _register() -> None:
    import importlib

    for name in COMMAND_MODULES:
        cli.add_command(importlib.import_module(f"vlmdata.cli.{name}").command)


_register()


def main() -> None:
    cli(prog_name="vlmdata")
