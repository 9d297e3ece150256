"""Every registered family: exact labels, masking, forward+backward, save/reload, module names.

The label and masking tests run under both image-processor backends (`tiny_processor`)."""

from __future__ import annotations

import re

import pytest
from family_records import ALL, MULTI_IMAGE, SINGLE, TEXT_ONLY, assistant_texts

from vlmtrain.tiny.make import BUILDERS

pytestmark = pytest.mark.train
FAMS = sorted(BUILDERS)


def _spans(labels):
    """Contiguous runs of labelled positions -> list of token-id lists."""
    runs, cur = [], []
    for t in labels:
        if t == -100:
            if cur:
                runs.append(cur)
            cur = []
        else:
            cur.append(t)
    return runs + ([cur] if cur else [])


def _supported(fam, record) -> bool:
    return (
        (fam.multi_turn or len(assistant_texts(record)) == 1)
        and (fam.supports_text_only or record is not TEXT_ONLY)
        and (fam.supports_system or all(m["role"] != "system" for m in record["messages"]))
    )


def _records_for(fam):
    return [r for r in ALL if _supported(fam, r)]


@pytest.mark.parametrize("name", FAMS)
@pytest.mark.parametrize("record", ALL, ids=lambda r: r["id"])
def test_labels_are_exactly_the_assistant_turns(tiny_processor, name, record):
    fam, proc = tiny_processor(name)
    if not _supported(fam, record):
        pytest.skip(
            f"{name} does not train on {record['id']} records (see test_unsupported_records_are_errors)"
        )
    batch = fam.encode(proc, [record])
    tok = getattr(proc, "tokenizer", proc)
    # Templates that render "Assistant: text" put the separating space in the first answer token.
    got = [tok.decode(run).removeprefix(" ") for run in _spans(batch["labels"][0].tolist())]
    # An earlier answer ends as the template closes it in history (a template that writes no end-of-turn:
    # the stop it writes next, or none), the final answer with the end-of-turn the model stops on.
    *earlier, final = assistant_texts(record)
    assert got == [t + fam.history_end_of_turn for t in earlier] + [final + fam.tiny_end_of_turn]


@pytest.mark.parametrize("name", FAMS)
def test_no_label_on_image_pad_or_prompt_tokens_in_a_padded_batch(tiny_processor, name):
    from vlmtrain.collator import VLMCollator

    fam, proc = tiny_processor(name)
    records = _records_for(fam)
    batch = VLMCollator(proc, fam)(records)
    ids, labels, attn = batch["input_ids"], batch["labels"], batch["attention_mask"]
    image_ids = fam.image_token_ids(proc)
    assert image_ids, "the family names no image tokens present in the tokenizer"
    assert any(t in image_ids for t in ids.flatten().tolist())
    labelled = labels != -100
    assert (labels[labelled] == ids[labelled]).all()
    assert (attn[labelled] == 1).all()  # never on padding
    assert not any(t in image_ids for t in ids[labelled].tolist())
    tok = getattr(proc, "tokenizer", proc)
    n_expected = sum(
        len(tok(t, add_special_tokens=False)["input_ids"]) for r in records for t in assistant_texts(r)
    )
    n_turns = sum(len(assistant_texts(r)) for r in records)
    # assistant text tokens + one end-of-turn token per turn (tokenization in context may merge a token)
    assert n_expected - n_turns <= int(labelled.sum()) <= n_expected + n_turns


@pytest.mark.parametrize("name", FAMS)
def test_train_on_prompt_labels_every_text_token(tiny_processor, name):
    from vlmtrain.collator import VLMCollator

    fam, proc = tiny_processor(name)
    batch = VLMCollator(proc, fam, train_on_prompt=True)(_records_for(fam))
    image_ids = fam.image_token_ids(proc)
    for ids, labels, attn in zip(batch["input_ids"], batch["labels"], batch["attention_mask"], strict=True):
        for t, lab, a in zip(ids.tolist(), labels.tolist(), attn.tolist(), strict=True):
            assert lab == (t if a and t not in image_ids else -100)


@pytest.mark.parametrize("name", FAMS)
def test_forward_backward_on_a_collated_batch(tiny_loaded, name):
    import torch

    from vlmtrain.collator import VLMCollator

    fam, proc, model = tiny_loaded(name)
    model.train()
    model.zero_grad()
    batch = VLMCollator(proc, fam, max_length=4096)(_records_for(fam))
    out = model(**batch)
    assert torch.isfinite(out.loss)
    out.loss.backward()
    lm_grads = [p.grad for n, p in model.named_parameters() if n.startswith(fam.language_model + ".")]
    assert any(g is not None and g.abs().sum() > 0 for g in lm_grads)


@pytest.mark.parametrize("name", FAMS)
def test_save_and_reload(tiny_loaded, tmp_path, name):
    import torch

    from vlmtrain.families import resolve_family

    fam, proc, model = tiny_loaded(name)
    model.save_pretrained(tmp_path)
    proc.save_pretrained(tmp_path)
    assert resolve_family(tmp_path) is fam
    proc2 = fam.load_processor(tmp_path)
    model2 = fam.load_model(tmp_path)
    batch = fam.encode(proc2, [SINGLE])
    assert batch["input_ids"].tolist() == fam.encode(proc, [SINGLE])["input_ids"].tolist()
    model.eval()
    model2.eval()
    with torch.no_grad():
        assert torch.allclose(model(**batch).logits, model2(**batch).logits)


@pytest.mark.parametrize("name", FAMS)
def test_module_names_resolve(tiny_loaded, name):
    fam, _, model = tiny_loaded(name)
    modules = dict(model.named_modules())
    for prefix in (fam.vision_tower, fam.projector, fam.language_model, fam.lm_layers):
        assert prefix in modules, prefix
    assert len(modules[fam.lm_layers]) >= 1
    classes = {type(m).__name__ for m in modules.values()}
    wrap = fam.wrap_classes(model)
    assert type(modules[fam.lm_layers][0]).__name__ in wrap
    assert len(wrap) >= 2 and set(wrap) <= classes  # LM layers and vision encoder layers
    lora = [n for n in modules if re.fullmatch(fam.lora_target_modules, n)]
    assert lora and all(n.startswith(fam.language_model + ".") for n in lora)
    assert not any(n.startswith(fam.vision_tower + ".") for n in lora)


@pytest.mark.parametrize("name", FAMS)
def test_wrap_classes_are_the_same_on_the_meta_device(tiny_loaded, name):
    """`Family.wrap_classes` is the one source of FSDP wrap classes: train asks it of the model built on
    the meta device (no weights read), FSDP sharding asks it of the loaded model; both get the same."""
    import torch
    import transformers

    fam, _, model = tiny_loaded(name)
    with torch.device("meta"):
        meta = getattr(transformers, fam.model_class_for(model.config.model_type))._from_config(model.config)
    assert fam.wrap_classes(meta) == fam.wrap_classes(model)


@pytest.mark.parametrize("name", FAMS)
def test_too_long_record_is_an_error_naming_it(tiny_loaded, name):
    from vlmtrain.collator import VLMCollator
    from vlmtrain.errors import VlmTrainError

    fam, proc, _ = tiny_loaded(name)
    with pytest.raises(VlmTrainError, match="record 'multi-image'.* exceed max_length 8"):
        VLMCollator(proc, fam, max_length=8)([MULTI_IMAGE])


@pytest.mark.parametrize("name", FAMS)
def test_unsupported_records_are_errors_naming_them(tiny_loaded, name):
    from vlmtrain.errors import VlmTrainError

    fam, proc, _ = tiny_loaded(name)
    unsupported = [r for r in ALL if not _supported(fam, r)]
    if not unsupported:
        pytest.skip(f"{name} trains on every sample shape")
    for record in unsupported:
        with pytest.raises(VlmTrainError, match=f"record '{record['id']}'"):
            fam.encode(proc, [record])


@pytest.mark.parametrize("name", FAMS)
def test_image_parts_and_images_mismatch_is_an_error(tiny_loaded, name):
    from vlmtrain.errors import VlmTrainError

    fam, proc, _ = tiny_loaded(name)
    bad = {**MULTI_IMAGE, "id": "short", "images": MULTI_IMAGE["images"][:1]}
    with pytest.raises(VlmTrainError, match=r"record 'short': 2 image part\(s\) in messages but 1 image"):
        fam.encode(proc, [bad])


@pytest.mark.parametrize("name", FAMS)
def test_record_without_assistant_turn_is_an_error(tiny_loaded, name):
    from vlmtrain.errors import VlmTrainError

    fam, proc, _ = tiny_loaded(name)
    bad = {**SINGLE, "id": "no-answer", "messages": SINGLE["messages"][:1]}
    with pytest.raises(VlmTrainError, match="record 'no-answer'"):
        fam.encode(proc, [bad])
