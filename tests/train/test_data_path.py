"""`vlmtrain run`'s data path: the shards read once (images left {bytes, path}), counted from the rows the
trainer gets, each image decoded once per sample in the collator, with the same tensors as when `datasets`
decoded the images; and one rule for a split's files in `run` and `check`."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from run_helpers import record, write_shards

FAMILIES = ["qwen2_vl", "idefics3"]


def _encoded(image: Image.Image, fmt: str, exif_orientation: int | None = None) -> bytes:
    buf = io.BytesIO()
    kwargs = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif
    image.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _awkward_records() -> list[dict]:
    """Images as they come: EXIF-rotated JPEG, grey, RGBA, palette and CMYK, of mixed sizes."""
    gradient = Image.linear_gradient("L").resize((48, 30))
    images = [
        _encoded(Image.merge("RGB", (gradient, gradient.rotate(90), gradient)), "JPEG", exif_orientation=6),
        _encoded(gradient.resize((40, 36)), "PNG"),
        _encoded(Image.new("RGBA", (30, 44), (200, 10, 90, 120)), "PNG"),
        _encoded(Image.new("RGB", (52, 28), (10, 200, 30)).convert("P"), "PNG"),
        _encoded(Image.new("CMYK", (36, 36), (0, 128, 255, 20)), "JPEG"),
    ]
    out = []
    for i, data in enumerate(images):
        rec = record(i)
        rec["images"] = [{"bytes": data, "path": f"{i}.img"}]
        out.append(rec)
    return out


@pytest.fixture(scope="module")
def awkward(tmp_path_factory):
    return write_shards(tmp_path_factory.mktemp("awkward"), {"train": _awkward_records()})


class _Opens:
    """Counts PIL.Image.open calls (every decode of an image starts with one)."""

    def __init__(self, monkeypatch):
        self.n = 0
        real = Image.open

        def counted(*args, **kwargs):
            self.n += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(Image, "open", counted)


def test_load_split_keeps_images_undecoded(awkward):
    from vlmtrain.data import load_split

    ds = load_split(awkward, "train")
    assert set(ds[0]["images"][0]) == {"bytes", "path"}


@pytest.mark.parametrize("max_pixels", [None, 900])
@pytest.mark.parametrize("name", FAMILIES)
def test_collator_decodes_each_image_once_with_the_tensors_of_the_datasets_decode(
    awkward, tiny_loaded, monkeypatch, name, max_pixels
):
    """Same input_ids, labels and pixel values as before (datasets' Image feature decoded, then the cap
    converted to RGB and resized), with one PIL open per image and nothing decoded again in encode_one."""
    import torch

    from vlmdata.shards import load_split as shards_load_split
    from vlmtrain.collator import VLMCollator
    from vlmtrain.data import CappedCollator, cap_image, load_split
    from vlmtrain.encoding.records import decode_images

    family, processor, _ = tiny_loaded(name)
    plain = VLMCollator(processor, family)
    # Before: rows decoded to PIL by datasets; the cap decoded/converted them again (max_pixels set).
    before_rows = list(shards_load_split(awkward, "train", decode=True))
    if max_pixels:
        before_rows = [
            {**r, "images": [cap_image(im, max_pixels) for im in decode_images(r["images"])]}
            for r in before_rows
        ]
    before = plain(before_rows)

    rows = list(load_split(awkward, "train"))
    seen = []
    encode_one = family.encode_one

    def spy(processor, rec, *args):
        seen.extend(rec["images"])
        return encode_one(processor, rec, *args)

    monkeypatch.setattr(family, "encode_one", spy)
    opens = _Opens(monkeypatch)
    after = CappedCollator(plain, max_pixels)(rows)
    assert opens.n == sum(len(r["images"]) for r in rows) == 5
    assert all(isinstance(im, Image.Image) and im.mode == "RGB" for im in seen)
    assert decode_images(seen) == seen and all(a is b for a, b in zip(decode_images(seen), seen, strict=True))

    assert set(after) == set(before)
    for key in before:
        assert torch.equal(after[key], before[key]), key


def test_packed_collator_decodes_each_image_once(awkward, tiny_loaded, monkeypatch):
    from vlmtrain.data import load_split
    from vlmtrain.packing import PackedCollator

    family, processor, model = tiny_loaded("qwen2_vl")
    rows = list(load_split(awkward, "train"))
    collator = PackedCollator(processor, family, max_length=4096, model_config=model.config, max_pixels=900)
    opens = _Opens(monkeypatch)
    collator([rows[:3], rows[3:]])
    assert opens.n == 5
    opens.n = 0
    collator(rows[:2])  # eval batches: plain records
    assert opens.n == 2


def test_preflight_counts_the_loaded_rows_and_names_their_shard(tmp_path, tiny_loaded):
    """The count reads the dataset's own rows (no second read of the shards), located per shard."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vlmdata.record import ARROW_SCHEMA
    from vlmtrain.data import load_split, preflight
    from vlmtrain.errors import VlmTrainError
    from vlmtrain.sampling import record_lengths
    from vlmtrain.training_args import VlmTrainConfig

    family, processor, _ = tiny_loaded("qwen2_vl")
    data = tmp_path / "data"
    data.mkdir()
    shards = [[record(0), record(1, size=56)], [record(2), record(3, size=48), record(4)]]
    for k, recs in enumerate(shards):
        pq.write_table(
            pa.Table.from_pylist(recs, schema=ARROW_SCHEMA), data / f"train-0000{k}-of-00002.parquet"
        )
    cfg = VlmTrainConfig(
        output_dir=str(tmp_path / "o"), data_dir=str(data), max_length=None, use_cpu=True, report_to=[]
    )
    ds = preflight(cfg, load_split(data, "train"), processor, family)
    records = [r for recs in shards for r in recs]
    expected = [family.encode(processor, [r])["input_ids"].shape[1] for r in records]
    assert ds["length"] == expected
    assert record_lengths(load_split(data, "train"), processor, family) == expected
    assert (
        preflight(cfg, load_split(data, "train", max_samples=3), processor, family)["length"] == expected[:3]
    )

    bad = record(5)
    bad["images"] = bad["images"] * 2  # two images, one image part
    shards[1][1] = bad
    pq.write_table(
        pa.Table.from_pylist(shards[1], schema=ARROW_SCHEMA), data / "train-00001-of-00002.parquet"
    )
    with pytest.raises(VlmTrainError) as err:
        preflight(cfg, load_split(data, "train"), processor, family)
    assert f"{data / 'train-00001-of-00002.parquet'} record 1" in str(err.value)


def test_a_split_in_another_subfolder_is_found_by_neither_check_nor_run(tmp_path, tiny_model):
    """One rule for a split's files: <dir>/<split>-*.parquet, else <dir>/data/ (the Hub's layout); a copy
    in any other subfolder (old/, backup/) is found by neither `vlmtrain check` nor `vlmtrain run`."""
    from click.testing import CliRunner

    from vlmtrain.check import check_data
    from vlmtrain.cli import cli
    from vlmtrain.data import load_split
    from vlmtrain.errors import ConfigError, VlmTrainError

    model = tiny_model("qwen2_vl")
    old = write_shards(tmp_path / "d" / "old", {"train": [record(0), record(1)]}).parent
    with pytest.raises(ConfigError, match="no 'train-\\*.parquet' shards"):
        check_data(old, model, max_length=512)
    with pytest.raises(VlmTrainError, match="no 'train' split"):
        load_split(old, "train")
    config = tmp_path / "run.yaml"
    config.write_text(f"model_name_or_path: {model}\ndata_dir: {old}\noutput_dir: {tmp_path / 'o'}\n")
    for command in ("check", "run"):
        res = CliRunner().invoke(cli, [command, str(config)])
        assert res.exit_code == 2, res.output
        assert f"train_split: no train-*.parquet shards in '{old}' (found: none)" in res.output

    hub = write_shards(tmp_path / "h" / "data", {"train": [record(0), record(1)]}).parent
    assert check_data(hub, model, max_length=512).to_dict()["samples"] == 2
    assert len(load_split(hub, "train")) == 2
