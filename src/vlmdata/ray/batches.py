"""validate's and convert's per-record steps as Ray Data batch functions, for users' own pipelines.

    ds = ray.data.read_json("/data/pairs/train.jsonl")
    ds.map_batches(Validate(format="sharegpt", root="/data/pairs"), batch_format="pyarrow")
      -> each row plus `problems`: list<string>, every problem validate finds in it ([] when valid)
    ds.map_batches(Convert(format="sharegpt", root="/data/pairs"), batch_format="pyarrow")
      -> canonical rows (vlmdata.record.ARROW_SCHEMA), images read from their paths on the worker

The checks are validate's (`Checks.record_check`: the format's JSON Schema, its semantic checks, the
image headers inside `root`); the reader is the format's `to_canonical`. A batch has no file: problems
are located by the row's index in its batch. Convert raises InvalidDataError on a record validate
refuses (the job stops), or with skip_invalid=True leaves it out.
"""

from __future__ import annotations

from pathlib import Path

from vlmdata.images import DEFAULT_MAX_PIXELS

BATCH_FILE = "<batch>"


class _Step:
    def __init__(self, format: str, root: str = ".", media_dir: str | None = None, check_images: bool = False,
                 max_pixels: int = DEFAULT_MAX_PIXELS):  # fmt: skip
        from vlmdata.errors import UsageError
        from vlmdata.formats import RECORD_FORMATS

        if format not in RECORD_FORMATS:
            raise UsageError(f"unknown format {format!r}; choose one of {', '.join(RECORD_FORMATS)}")
        self.format, self.root = format, str(Path(root).resolve())
        self.media_dir, self.check_images, self.max_pixels = media_dir, check_images, max_pixels
        self._state = None  # built on the worker at the first batch

    def _open(self):
        if self._state is None:
            from vlmdata.datafile import Dataset, InputFile
            from vlmdata.validate import image_mode
            from vlmdata.validate.images import ImageChecker
            from vlmdata.validate.run import Checks

            root = Path(self.root)
            images = ImageChecker(root, image_mode(self.check_images), self.max_pixels)
            media = Path(self.media_dir).resolve() if self.media_dir else None
            checks = Checks(Dataset(root, []), self.format, images, media)
            f = InputFile(root / BATCH_FILE, "train", "jsonl", self.format)
            self._state = checks, f, checks.record_check(f, self.format)
        return self._state

    def _problems(self, rows: list[dict]) -> list[list]:
        from vlmdata.images import own_pixel_limit

        _, _, check = self._open()
        with own_pixel_limit():
            return [check(i, None, row) for i, row in enumerate(rows)]


def _rows(batch) -> list[dict]:
    import pyarrow as pa

    if isinstance(batch, pa.Table):
        return batch.to_pylist()
    if isinstance(batch, dict):  # batch_format="numpy"
        keys = list(batch)
        return [
            dict(zip(keys, [_plain(batch[k][i]) for k in keys], strict=True))
            for i in range(len(batch[keys[0]]))
        ]
    return batch.to_dict("records")  # pandas


def _plain(value):
    return value.tolist() if hasattr(value, "tolist") else value


class Validate(_Step):
    """The batch with a `problems` column: each problem validate finds in the row, described."""

    def __call__(self, batch):
        import pyarrow as pa

        rows = _rows(batch)
        described = [[p.describe() for p in found] for found in self._problems(rows)]
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_pylist(rows)
        return table.append_column("problems", pa.array(described, pa.list_(pa.string())))


class Convert(_Step):
    """The batch as canonical rows, image files read here; a refused record stops the job."""

    def __init__(self, format: str, skip_invalid: bool = False, **kwargs):
        super().__init__(format, **kwargs)
        self.skip_invalid = skip_invalid

    def __call__(self, batch):
        import pyarrow as pa

        from vlmdata.errors import InvalidDataError, RecordError
        from vlmdata.io import read_image_bytes
        from vlmdata.record import ARROW_SCHEMA, MEDIA_LISTS

        checks, f, _ = self._open()
        read, _ = checks.reader(f, self.format)
        rows = _rows(batch)
        out, bad = [], []
        for i, (row, found) in enumerate(zip(rows, self._problems(rows), strict=True)):
            if not found:
                try:
                    rec = read(i, None, row)
                    out.append({**rec, **{k: [read_image_bytes(m) for m in rec[k]] for k in MEDIA_LISTS}})
                    continue
                except RecordError as exc:
                    found = [exc.problem]
            bad += found
        if bad and not self.skip_invalid:
            raise InvalidDataError(bad, len({p.where.record for p in bad}), len(rows), "the dataset",
                                   "Fix the records or pass skip_invalid=True to leave them out.")  # fmt: skip
        return pa.Table.from_pylist(out, schema=ARROW_SCHEMA)
