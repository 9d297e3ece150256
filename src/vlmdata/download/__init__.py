"""`vlmdata download`: a source (built-in, Hub repo or local folder) -> a ready dataset folder.

    download(DownloadOptions("naruto", "data/naruto"))
      -> DownloadReport(rows={"train": 1221}, skipped=[], files=["train-00000-of-00001.parquet", ...])

    data/naruto/
      train-00000-of-00001.parquet     canonical records (vlmdata.record.ARROW_SCHEMA), images embedded
      validation-00000-of-00001.parquet   when the source has a validation split, or --val-ratio > 0
      README.md                        dataset card; YAML `configs` so datasets.load_dataset(DIR) works
      manifest.json                    repo, revision, subsets, rows per split, sha256 per file, options,
                                       every skipped row and why
      dataset_info.json                LLaMA-Factory entries (--format sharegpt only; see below)

How it reads: each config's data files are listed by `datasets.load_dataset_builder`, then read one file
at a time with `datasets.load_dataset(path, config, data_files=...)` (streamed with --streaming), as Arrow
batches with images left undecoded. A file is the unit of `--shard i/N` (file k goes to part k mod N), so
parts are disjoint, cover the source, and need no coordination. Row ids name the file and the row
(`ai2d-train-00003-000012`), so they are the same whichever part or run produced them.

What it guarantees: a row validate refuses (a corrupt or missing image, a malformed conversation) stops
the run after its source file with validate's report (file, row, JSON path, expected, found) and nothing
written; with --skip-invalid, output rows = rows read - rows skipped, and every skipped row is listed in
manifest.json with its file, row and reason. Everything is written to a temporary folder that
replaces `out` only when complete: an interrupted run leaves `out` as it was. Each finished source file's
rows are kept in `.<out>.download/` (vlmdata.download.state), so rerunning the same command resumes
after the last finished file; a different command starts over.

LLaMA-Factory: its sharegpt reader needs string contents with `<image>` markers, which canonical Parquet
(typed content parts) is not, so dataset_info.json is written for `--format sharegpt` output only.
"""

from vlmdata.download.options import MANIFEST, DownloadOptions, DownloadReport, parse_shard
from vlmdata.download.run import download

__all__ = ["MANIFEST", "DownloadOptions", "DownloadReport", "download", "parse_shard"]
