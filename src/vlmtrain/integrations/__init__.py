"""Layer 4 (drivers): ways into other tools' training scripts, built on vlmtrain's shards, families and
collator.

- `llama_cookbook.py`: a custom dataset file for llama-cookbook's finetuning script.
"""
