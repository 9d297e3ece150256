"""Layer 2 (packing): `packed_sdpa`: PyTorch sdpa run per packed sample, the varlen idea of flash-attention
for any device.

With sdpa, transformers isolates packed samples by a [B, 1, W, W] block mask, so every row still costs a
full W x W attention (most of it masked). This kernel reads the sample boundaries from the position ids
(where they restart, as transformers does) and runs causal sdpa on each sample alone: the same result,
attention cost sum(T_i^2) instead of W^2, and a step's rows can be flattened into one (no padding).

    register()                                  # once; idempotent
    model.config.get_text_config()._attn_implementation = PACKED_SDPA   # the language model only

Anything that is not a packed causal self-attention (vision towers, non-causal modules, sliding-window
layers, a KV cache, batches without restarting position ids) goes to transformers' sdpa unchanged.
"""

from __future__ import annotations

PACKED_SDPA = "vlmtrain_packed_sdpa"


def _spans(position_ids, length: int):
    """[[(start, end), ...] per row] of the samples in a packed batch, or None when no row restarts."""
    import torch

    if position_ids is None or position_ids.shape[-1] != length:
        return None
    pos = position_ids.reshape(-1, length)
    starts = torch.ones_like(pos, dtype=torch.bool)
    starts[:, 1:] = pos[:, 1:] != pos[:, :-1] + 1
    if int(starts.sum()) == pos.shape[0]:
        return None
    out = []
    for row in starts:
        cuts = [*row.nonzero().flatten().tolist(), length]
        out.append(list(zip(cuts[:-1], cuts[1:], strict=True)))
    return out


def packed_sdpa(
    module, query, key, value, attention_mask, dropout=0.0, scaling=None, is_causal=None, **kwargs
):
    """query/key/value [B, H, W, D] -> ([B, W, H, D], None), as transformers' sdpa_attention_forward."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    causal = is_causal if is_causal is not None else getattr(module, "is_causal", True)
    spans = None
    if causal and query.shape[2] == key.shape[2] and not kwargs.get("sliding_window"):
        spans = _spans(kwargs.get("position_ids"), query.shape[2])
    if spans is None:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout, scaling, is_causal, **kwargs
        )
    if len(spans) == 1 and query.shape[0] > 1:
        spans = spans * query.shape[0]  # position ids given once for the whole batch
    rows = []
    for b, row in enumerate(spans):
        sizes = [e - s for s, e in row]  # split, not slices: its backward is one cat, not a zero-fill each
        parts = [
            sdpa_attention_forward(module, q, k, v, None, dropout, scaling, True)[0]
            for q, k, v in zip(
                query[b : b + 1].split(sizes, dim=2),
                key[b : b + 1].split(sizes, dim=2),
                value[b : b + 1].split(sizes, dim=2),
                strict=True,
            )
        ]
        rows.append(torch.cat(parts, dim=1))
    return torch.cat(rows, dim=0), None


def packed_mask(*args, attention_mask=None, local_size=None, **kwargs):
    """The mask for PACKED_SDPA: none for a packed batch without padding or sliding window (the kernel
    reads the sample boundaries from the position ids, so the W x W block mask transformers would build
    is never used), else sdpa's."""
    from transformers.masking_utils import sdpa_mask

    if attention_mask is None and local_size is None:
        return None
    return sdpa_mask(*args, attention_mask=attention_mask, local_size=local_size, **kwargs)


def register() -> str:
    """Make PACKED_SDPA a transformers attention implementation (its masks: packed_mask)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(PACKED_SDPA, packed_sdpa)
    AttentionMaskInterface.register(PACKED_SDPA, packed_mask)
    return PACKED_SDPA


def use_packed_sdpa(model) -> None:
    """Switch the model's language model to PACKED_SDPA (vision towers keep their kernel)."""
    register()
    model.config.get_text_config()._attn_implementation = PACKED_SDPA
