"""Sequence packing (vlmtrain.packing): packed rows train exactly like a padded batch of the same samples,
no token attends across a sample boundary, rows never exceed max_length, and the row plan and step order are
deterministic for a seed and sharded across DDP ranks like the length-grouped sampler."""

from __future__ import annotations

import random

import pytest
from family_records import MULTI_TURN, SINGLE, TEXT_ONLY, _msg, image

from vlmtrain.config import packing_refusal
from vlmtrain.errors import VlmTrainError
from vlmtrain.families import NAMES, resolve_family
from vlmtrain.packing import (
    PackedCollator,
    PackedRowSampler,
    plan_rows,
    real_tokens,
    step_batches,
)
from vlmtrain.stats import packing_stats
from vlmtrain.trainers import flat_rows

PACKABLE = sorted(n for n in NAMES if resolve_family(n).packing is not None)
REFUSING = sorted(n for n in NAMES if resolve_family(n).packing is None)

THREE_IMAGES = {
    "id": "three-images",
    "messages": [
        _msg("user", None, None, None, "What do the three pictures have in common?"),
        _msg("assistant", "They are all plain squares of one colour."),
    ],
    "images": [image("green", 32), image("red", 40), image("blue", 32)],
    "source": "test",
}
# 0, 1, 3 images and a multi-turn conversation in one row.
ROW = [TEXT_ONLY, SINGLE, THREE_IMAGES, MULTI_TURN]


def test_registry_has_packable_and_refusing_families():
    assert PACKABLE and REFUSING  # the parametrized tests below run over both sides
    assert {resolve_family(n).packing for n in PACKABLE} <= {"text", "mrope"}
    assert all(resolve_family(n).packing_refusal for n in REFUSING)


# ---- exactness: packed == padded, per family --------------------------------------------------------------
def _load(tiny_model, name):
    import torch

    from vlmtrain.families import resolve_family

    path = tiny_model(name)
    family = resolve_family(path)
    processor = family.load_processor(path)
    torch.manual_seed(0)
    model = family.load_model(path).float()
    model.train()  # as in a training step; the tiny models have no dropout, so it is deterministic
    return family, processor, model


def _step(model, batch):
    """One forward/backward as a training step runs it (trl passes use_cache=False): loss, logits, grads."""
    model.zero_grad(set_to_none=True)
    out = model(**batch, use_cache=False)
    out.loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    return out.loss.detach(), out.logits.detach(), grads


@pytest.fixture(scope="module", params=PACKABLE)
def packed_and_padded(request, tiny_model):
    """(family, per-sample lengths, packed step, padded step) for ROW packed into one row that exactly
    fills max_length, and the same samples as one right-padded batch."""
    family, processor, model = _load(tiny_model, request.param)
    feats = [family.encode_one(processor, r) for r in ROW]
    lengths = [f["input_ids"].shape[1] for f in feats]
    collator = PackedCollator(processor, family, max_length=sum(lengths), model_config=model.config)
    packed = collator([ROW])
    padded = family.collate(processor, feats)
    return family, lengths, _step(model, packed), _step(model, padded), packed


def test_packed_row_shape(packed_and_padded):
    family, lengths, _p, _u, batch = packed_and_padded
    total = sum(lengths)
    assert batch["input_ids"].shape == (1, total) and "attention_mask" not in batch
    pos = batch["position_ids"]
    assert pos.shape == ((4, 1, total) if family.packing == "mrope" else (1, total))
    text = pos[0, 0] if family.packing == "mrope" else pos[0]
    starts = [sum(lengths[:k]) for k in range(len(lengths))]
    assert [int(text[s]) for s in starts] == [0] * len(lengths)  # restarts at every sample
    assert all(int(batch["labels"][0, s]) == -100 for s in starts)  # no label crosses a boundary


def test_packed_loss_equals_padded_batch(packed_and_padded):
    _f, _l, (loss_p, _lp, _gp), (loss_u, _lu, _gu), _b = packed_and_padded
    assert abs(loss_p.item() - loss_u.item()) <= 1e-5 * abs(loss_u.item())


def test_packed_gradients_equal_padded_batch(packed_and_padded):
    import torch

    _f, _l, (_lp, _xp, grads_p), (_lu, _xu, grads_u), _b = packed_and_padded
    assert grads_p.keys() == grads_u.keys() and grads_u
    norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads_u.values())).item()
    worst = max((grads_p[n] - grads_u[n]).abs().max().item() for n in grads_u)
    assert worst <= 1e-5 * norm, (worst, norm)


def test_packed_logits_equal_per_sample(packed_and_padded):
    import torch

    _f, lengths, (_lp, logits_p, _gp), (_lu, logits_u, _gu), _b = packed_and_padded
    start = 0
    for k, n in enumerate(lengths):
        torch.testing.assert_close(logits_p[0, start : start + n], logits_u[k, :n], rtol=1e-5, atol=1e-5)
        start += n


@pytest.mark.parametrize("name", PACKABLE)
def test_two_rows_with_padding_equal_padded_batch(name, tiny_model):
    """Rows of different lengths in one batch: the shorter row's padding is a sequence of its own."""
    import torch

    family, processor, model = _load(tiny_model, name)
    rows = [[SINGLE, TEXT_ONLY], [THREE_IMAGES]]
    feats = [family.encode_one(processor, r) for row in rows for r in row]
    collator = PackedCollator(processor, family, max_length=4096, model_config=model.config)
    batch = collator(rows)
    assert batch["input_ids"].shape[0] == 2
    loss_p, logits_p, _ = _step(model, batch)
    loss_u, logits_u, _ = _step(model, family.collate(processor, feats))
    assert abs(loss_p.item() - loss_u.item()) <= 1e-5 * abs(loss_u.item())
    n0, n1, n2 = (f["input_ids"].shape[1] for f in feats)
    pad_id = getattr(processor, "tokenizer", processor).pad_token_id
    assert int(real_tokens(batch["input_ids"], batch["position_ids"], pad_id)) == n0 + n1 + n2
    torch.testing.assert_close(logits_p[0, n0 : n0 + n1], logits_u[1, :n1], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(logits_p[1, :n2], logits_u[2, :n2], rtol=1e-5, atol=1e-5)
    # flash-attention kernels get the rows flattened into one row: the same loss, no padding at all
    flat = PackedCollator(processor, family, max_length=4096, model_config=model.config, flatten=True)(rows)
    assert flat["input_ids"].shape == (1, n0 + n1 + n2)
    loss_f, logits_f, _ = _step(model, flat)
    assert abs(loss_f.item() - loss_u.item()) <= 1e-5 * abs(loss_u.item())
    torch.testing.assert_close(logits_f[0, n0 + n1 :], logits_u[2, :n2], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", PACKABLE)
def test_packed_sdpa_kernel_equals_padded_batch(name, tiny_model):
    """`vlmtrain run`'s kernel for packed rows under sdpa (sdpa per sample, rows flattened into one): the
    loss, gradients and per-sample logits of the padded batch."""
    import torch

    from vlmtrain.packing import PACKED_SDPA, use_packed_sdpa

    family, processor, model = _load(tiny_model, name)
    feats = [family.encode_one(processor, r) for r in ROW]
    lengths = [f["input_ids"].shape[1] for f in feats]
    loss_u, logits_u, grads_u = _step(model, family.collate(processor, feats))
    use_packed_sdpa(model)
    assert model.config.get_text_config()._attn_implementation == PACKED_SDPA
    collator = PackedCollator(processor, family, sum(lengths), model_config=model.config, flatten=True)
    loss_p, logits_p, grads_p = _step(model, collator([ROW[:2], ROW[2:]]))
    assert abs(loss_p.item() - loss_u.item()) <= 1e-5 * abs(loss_u.item())
    norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads_u.values())).item()
    assert max((grads_p[n] - grads_u[n]).abs().max().item() for n in grads_u) <= 1e-5 * norm
    start = 0
    for k, n in enumerate(lengths):
        torch.testing.assert_close(logits_p[0, start : start + n], logits_u[k, :n], rtol=1e-5, atol=1e-5)
        start += n


def test_flash_attention_kernels_get_flat_rows():
    assert [flat_rows(k) for k in (None, "sdpa", "eager", "flex_attention")] == [False] * 4
    assert flat_rows("flash_attention_2") and flat_rows("flash_attention_3")
    assert flat_rows("kernels-community/flash-attn3")  # any kernel not known to take the packed mask
    assert flat_rows("vlmtrain_packed_sdpa")


# ---- isolation: nothing crosses a boundary -----------------------------------------------------------------
OTHER_MIDDLE = {
    "id": "other-middle",
    "messages": [_msg("user", None, "Name the colour, please."), _msg("assistant", "Yellow, a bright one.")],
    "images": [image("yellow", 40)],
    "source": "test",
}


def _logits_after(model, batch, skip: int):
    import torch

    with torch.no_grad():
        return model(**batch, use_cache=False).logits[0, skip:]


def _leaks(model, row_a: dict, row_b: dict, tail: int) -> bool:
    """Rows that differ only in their middle sample: does the last sample (its `tail` tokens) change?"""
    import torch

    a = _logits_after(model, row_a, row_a["input_ids"].shape[1] - tail)
    b = _logits_after(model, row_b, row_b["input_ids"].shape[1] - tail)
    return not torch.allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", PACKABLE)
def test_no_token_attends_across_a_boundary(name, tiny_model):
    """[SINGLE, X, THREE_IMAGES] with X = MULTI_TURN or another sample: the last sample's logits must not
    move. As a control, the same rows with an all-ones attention mask (which turns transformers' packed
    masking off) do leak, so this test fails when isolation breaks."""
    import torch

    family, processor, model = _load(tiny_model, name)
    collator = PackedCollator(processor, family, max_length=4096, model_config=model.config)
    row_a = collator([[SINGLE, MULTI_TURN, THREE_IMAGES]])
    row_b = collator([[SINGLE, OTHER_MIDDLE, THREE_IMAGES]])
    tail = family.encode_one(processor, THREE_IMAGES)["input_ids"].shape[1]
    assert not _leaks(model, row_a, row_b, tail)
    ones = {
        k: {**v, "attention_mask": torch.ones_like(v["input_ids"])} for k, v in (("a", row_a), ("b", row_b))
    }
    assert _leaks(model, ones["a"], ones["b"], tail)


# ---- families that cannot pack ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", REFUSING)
def test_refusing_family_gives_one_config_error(name, tiny_model, tmp_path):
    from click.testing import CliRunner
    from run_helpers import FAST, record, write_config, write_shards

    from vlmtrain.cli import cli

    data = write_shards(tmp_path / "data", {"train": [record(i) for i in range(4)]})
    config = write_config(
        tmp_path / "run.yaml",
        model_name_or_path=str(tiny_model(name)),
        data_dir=str(data),
        output_dir=str(tmp_path / "out"),
        packing=True,
        **FAST,
    )
    result = CliRunner().invoke(cli, ["run", str(config)])
    assert result.exit_code != 0
    message = packing_refusal(resolve_family(name))
    assert message in result.output and result.output.count("packing:") == 1
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()
    with pytest.raises(VlmTrainError, match="cannot be packed exactly"):
        PackedCollator(None, resolve_family(name), max_length=64)


# ---- the row plan ----------------------------------------------------------------------------------------
CAULDRON_LIKE = [random.Random(7).choice([60, 70, 90, 300, 420, 610, 900]) for _ in range(200)]


def test_rows_hold_every_sample_once_within_max_length():
    rows = plan_rows(CAULDRON_LIKE, 1024, seed=0)
    assert sorted(i for row in rows for i in row) == list(range(len(CAULDRON_LIKE)))
    assert all(sum(CAULDRON_LIKE[i] for i in row) <= 1024 for row in rows)
    lower = -(-sum(CAULDRON_LIKE) // 1024)  # no packing can use fewer rows
    assert len(rows) <= lower * 1.05 + 1


def test_plan_rows_exact_small_cases():
    assert plan_rows([5, 3, 2, 4], 6) == [[0], [3, 2], [1]]  # best fit: 2 joins the 4 (free 2), not the 3
    assert plan_rows([6, 6, 1], 6) == [[0], [1], [2]]  # a sample that exactly fills max_length sits alone
    assert plan_rows([], 8) == []
    with pytest.raises(VlmTrainError, match="1 sample\\(s\\) longer than max_length 6"):
        plan_rows([3, 7], 6)


def test_exactly_full_row_is_accepted_and_one_more_token_is_refused(tiny_model):
    from vlmtrain.families import resolve_family

    path = tiny_model("qwen2_vl")
    family = resolve_family(path)
    processor = family.load_processor(path)
    import transformers

    config = transformers.AutoConfig.from_pretrained(str(path))
    n = family.encode_one(processor, SINGLE)["input_ids"].shape[1]
    assert plan_rows([n], n) == [[0]]
    assert PackedCollator(processor, family, n, model_config=config)([[SINGLE]])["input_ids"].shape == (1, n)
    with pytest.raises(VlmTrainError, match=f"{n} tokens exceed max_length {n - 1}"):
        PackedCollator(processor, family, n - 1, model_config=config)([[SINGLE]])


def test_plan_is_deterministic_for_a_seed():
    lengths = [random.Random(3).choice([100, 200, 300]) for _ in range(60)]  # many ties
    assert plan_rows(lengths, 1000, seed=1) == plan_rows(list(lengths), 1000, seed=1)
    assert plan_rows(lengths, 1000, seed=1) != plan_rows(lengths, 1000, seed=2)
    sampler = PackedRowSampler(plan_rows(lengths, 1000), lengths, rows_per_device=2, seed=5)
    first = list(sampler)
    assert first == list(PackedRowSampler(plan_rows(lengths, 1000), lengths, 2, seed=5))
    sampler.set_epoch(1)
    assert list(sampler) != first and sorted(sampler) == sorted(first) == list(range(len(sampler)))


def test_steps_carry_about_the_same_tokens():
    rows = plan_rows(CAULDRON_LIKE, 1024, seed=0)
    tokens = [sum(CAULDRON_LIKE[i] for i in r) for r in rows]
    batches = step_batches(rows, CAULDRON_LIKE, rows_per_device=4, world_size=1, seed=0)
    full = [sum(tokens[r] for r in b) for b in batches if len(b) == 4]
    assert max(full) - min(full) <= 0.02 * max(full)
    assert sum(full[0:1]) == max(full)  # heaviest step first
    assert sorted(r for b in batches for r in b) == list(range(len(rows)))


def test_packing_stats_exact():
    assert packing_stats([600, 500, 400, 90, 2000], 1024, 2) == {
        "samples": 4,  # 2000 > max_length is left out, as the run drops it
        "rows": 2,
        "fill_ratio": 0.7764,
        "steps": 1,
        "tokens_per_step": {"min": 1590, "mean": 1590.0, "max": 1590},
        "pad_fraction": 0.205,  # rows of 1000 (600+400) and 590 (500+90), padded to 1000
    }


# ---- DDP: accelerate's BatchSamplerShard over the same sampler on every rank ----------------------------
def rank_batches(rows, lengths, per_device, world, rank, seed=0):
    from accelerate.data_loader import BatchSamplerShard
    from torch.utils.data import BatchSampler

    sampler = PackedRowSampler(rows, lengths, per_device, world_size=world, seed=seed)
    shard = BatchSamplerShard(
        BatchSampler(sampler, per_device, drop_last=False), num_processes=world, process_index=rank
    )
    return list(shard)


@pytest.mark.parametrize("world", [2, 3])
def test_ddp_ranks_get_disjoint_token_balanced_rows(world):
    lengths = CAULDRON_LIKE
    rows = plan_rows(lengths, 1024, seed=0)
    tokens = [sum(lengths[i] for i in r) for r in rows]
    per_rank = [rank_batches(rows, lengths, 2, world, r) for r in range(world)]
    assert len({len(b) for b in per_rank}) == 1
    seen = [i for batches in per_rank for b in batches for i in b]
    assert set(seen) == set(range(len(rows)))  # every row; accelerate repeats a few to even the ranks out
    sampler = PackedRowSampler(rows, lengths, 2, world_size=world, seed=0)
    for k, global_batch in enumerate(sampler.global_batches()):
        if len(global_batch) < 2 * world:
            continue  # the short tail batch
        assert sorted(i for r in range(world) for i in per_rank[r][k]) == sorted(global_batch)
        loads = [sum(tokens[i] for i in per_rank[r][k]) for r in range(world)]
        assert max(loads) - min(loads) <= 0.05 * max(loads)  # no rank waits on a much heavier batch


# ---- the run and the check -------------------------------------------------------------------------------
@pytest.mark.slow
def test_vlmtrain_run_trains_on_packed_rows(tiny_model, tmp_path, monkeypatch):
    from click.testing import CliRunner
    from run_helpers import FAST, record, write_config, write_shards

    from vlmtrain import packing
    from vlmtrain.cli import cli

    seen = []
    original = packing.PackedCollator.__call__

    def spy(self, items):
        out = original(self, items)
        seen.append((len(items), sum(len(r) for r in items), tuple(out["input_ids"].shape)))
        return out

    monkeypatch.setattr(packing.PackedCollator, "__call__", spy)
    data = write_shards(tmp_path / "data", {"train": [record(i, caption="a " * (i % 5)) for i in range(12)]})
    config = write_config(
        tmp_path / "run.yaml",
        model_name_or_path=str(tiny_model("qwen2_vl")),
        data_dir=str(data),
        output_dir=str(tmp_path / "out"),
        method="full",
        packing=True,
        max_length=128,
        **{**FAST, "num_train_epochs": 1},
    )
    result = CliRunner().invoke(cli, ["run", str(config)])
    assert result.exit_code == 0, result.output
    assert "vlmtrain: packing 12 samples into" in result.output
    # sdpa -> vlmtrain's sdpa per sample on the step's 2 rows flattened into one
    assert "flattened into one row for vlmtrain_packed_sdpa" in result.output
    assert seen and all(rows <= 2 and b == 1 and width <= 2 * 128 for rows, _n, (b, width) in seen)
    assert sum(n for _r, n, _s in seen) == 12  # one epoch: every sample exactly once
    assert (tmp_path / "out" / "model.safetensors").exists()


def test_check_reports_packing(tiny_model, tmp_path):
    import json

    from click.testing import CliRunner
    from run_helpers import record, write_config, write_shards

    from vlmtrain.cli import cli

    data = write_shards(tmp_path / "data", {"train": [record(i) for i in range(6)]})
    config = write_config(
        tmp_path / "c.yaml",
        model_name_or_path=str(tiny_model("qwen2_vl")),
        data_dir=str(data),
        max_length=128,
        per_device_train_batch_size=2,
        packing=True,
    )
    result = CliRunner().invoke(cli, ["check", str(config), "--json"])
    assert result.exit_code == 0, result.output
    pk = json.loads(result.output)["report"]["packing"]
    assert pk["samples"] == 6 and pk["rows"] >= 1 and 0 < pk["fill_ratio"] <= 1
    assert set(pk["tokens_per_step"]) == {"packed", "length_grouped", "random"}
    text = CliRunner().invoke(cli, ["check", str(config)])
    assert (
        text.exit_code == 0
        and f"packing (packing: true): 6 samples in {pk['rows']} rows of 128" in text.output
    )


def test_check_says_packing_is_refused_for_a_family_that_refuses_it(tiny_model, tmp_path):
    """No packing figures for a family whose runs refuse `packing: true`: the refusal and its reason."""
    import json

    from click.testing import CliRunner
    from run_helpers import record, write_config, write_shards

    from vlmtrain.cli import cli
    from vlmtrain.families import resolve_family

    reason = resolve_family("gemma3").packing_refusal
    assert reason
    data = write_shards(tmp_path / "data", {"train": [record(i) for i in range(4)]})
    config = write_config(
        tmp_path / "c.yaml",
        model_name_or_path=str(tiny_model("gemma3")),
        data_dir=str(data),
        max_length=512,
        per_device_train_batch_size=2,
    )
    result = CliRunner().invoke(cli, ["check", str(config), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["report"]["packing"] == {"refused": reason}
    text = CliRunner().invoke(cli, ["check", str(config)])
    assert text.exit_code == 0, text.output
    shown = " ".join(text.output.split())  # the console wraps long lines
    assert f"packing (packing: true): refused for gemma3: {reason}" in shown
    assert "rows of 512" not in shown


def test_packing_config_needs_max_length_and_its_own_order():
    from vlmtrain.config import check_semantics

    assert check_semantics({"packing": True, "max_length": None, "train_sampling_strategy": "random"}) == [
        "packing: needs max_length (the length of a packed row); set it, e.g. 2048",
        "train_sampling_strategy: 'random' conflicts with packing: true (packed rows have their own "
        "token-balanced order); remove one",
    ]
    assert check_semantics({"packing": True, "max_length": 2048}) == []


@pytest.mark.slow
def test_packed_run_on_two_processes(tiny_model, tmp_path):
    """torchrun with 2 gloo processes: every rank builds the same row plan, accelerate deals the
    per-device batches (1 row each) to the ranks, and both train in step."""
    import json

    from click.testing import CliRunner
    from run_helpers import FAST, record, write_config, write_shards

    from vlmtrain.cli import cli

    data = write_shards(tmp_path / "data", {"train": [record(i) for i in range(8)]})
    config = write_config(
        tmp_path / "c.yaml",
        model_name_or_path=str(tiny_model("qwen2_vl")),
        data_dir=str(data),
        output_dir=str(tmp_path / "out"),
        method="lora",
        packing=True,
        max_length=96,
        **{**FAST, "per_device_train_batch_size": 1, "num_train_epochs": 1},
    )
    result = CliRunner().invoke(cli, ["run", str(config), "--nproc", "2"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "out" / "trainer_log.jsonl").read_text().splitlines()]
    # 8 records of 35-52 tokens -> 5 rows of <= 96 (seen here); 2 ranks x 1 row: 3 steps, accelerate
    # repeats one row so both ranks take every step
    logged = [(r["step"], round(r["epoch"], 2)) for r in rows if "loss" in r]
    assert logged == [(1, 0.33), (2, 0.67), (3, 1.0)]
