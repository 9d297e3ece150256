"""vlmdata carries videos and audios into the shards; vlmtrain refuses audio by name (it does not train on
the text around it); videos pass to the family, which trains on them or refuses the record by name."""

from __future__ import annotations

import pytest

from data_helpers import record, write_canonical


def test_load_split_refuses_records_with_audio_and_passes_videos(tmp_path):
    from vlmtrain.data import load_split
    from vlmtrain.errors import VlmTrainError

    plain = record("a")
    clip = record("b")
    clip["messages"][0]["content"].insert(0, {"type": "video", "text": None})
    clip["videos"] = [{"bytes": b"\0\0\0\x18ftypmp42", "path": "clip.mp4"}]
    write_canonical(tmp_path / "v", [plain, clip])
    assert load_split(tmp_path / "v", "train")["id"] == ["a", "b"]
    sound = record("c")
    sound["messages"][0]["content"].insert(0, {"type": "audio", "text": None})
    sound["audios"] = [{"bytes": b"ID3", "path": "a.mp3"}]
    write_canonical(tmp_path / "a", [plain, sound])
    with pytest.raises(VlmTrainError) as exc:
        load_split(tmp_path / "a", "train")
    assert str(exc.value) == (
        f"{tmp_path / 'a' / 'train-00000-of-00001.parquet'} record 1 (id c): has 1 audio(s) (1 record(s) in this "
        "shard have audios); vlmtrain does not train on audio yet. Drop those records, or train with a tool "
        "that does (the sharegpt export keeps them for LLaMA-Factory)"
    )


def test_load_split_reads_shards_without_media(tmp_path):
    from vlmtrain.data import load_split

    write_canonical(tmp_path, [record("a"), record("b")])
    assert load_split(tmp_path, "train")["id"] == ["a", "b"]
