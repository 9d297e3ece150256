"""Layer 0 (package root): vlmtrain: a thin, correct training stage for vision-language models on vlmdata's
canonical shards.

Heavy libraries (torch, transformers, peft, trl) are imported inside the functions that need them, so
`vlmtrain --help` and config validation start fast.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
