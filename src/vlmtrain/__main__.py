"""Layer 6 (CLI): `python -m vlmtrain` runs the `vlmtrain` command."""

from vlmtrain.cli import main

main()
