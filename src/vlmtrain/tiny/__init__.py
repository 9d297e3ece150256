"""Tiny random-weight models: `make.make_tiny_model` (the registry's builders) and `common` (the pieces
each family's `tiny.py` builds with: a locally trained BPE tokenizer, tiny text dimensions, saving)."""
