"""The spool on its own: append, seal, read back, torn lines, orphans, claims."""

from __future__ import annotations

import json
import os

from pipeline_lib.store.spool import Spool, claimed, read_segment


def _line(i: int) -> bytes:
    return json.dumps({"request_id": f"{i:032x}"}).encode() + b"\n"


async def test_append_seal_read(tmp_path):
    spool = Spool(tmp_path / "spool")
    spool.open()
    for i in range(3):
        spool.append(_line(i))
    await spool.sync()
    sealed = await spool.seal()
    assert [o["request_id"] for o in read_segment(sealed)] == [f"{i:032x}" for i in range(3)]
    assert await spool.seal() is None  # the new active file is empty
    assert spool.sealed_segments() == [sealed]
    assert stat_mode(sealed) == 0o600
    spool.close()
    assert spool.spooled_count() == 3


def stat_mode(path) -> int:
    return os.stat(path).st_mode & 0o777


def test_torn_last_line_is_skipped(tmp_path):
    path = tmp_path / "seg-1.jsonl"
    path.write_bytes(_line(1) + _line(2) + b'{"request_id": "0')
    assert [o["request_id"] for o in read_segment(path)] == [f"{1:032x}", f"{2:032x}"]


def test_active_file_of_a_dead_process_is_adopted(tmp_path):
    directory = tmp_path / "spool"
    directory.mkdir()
    (directory / "active-999999-deadbeef.jsonl").write_bytes(_line(7))  # nobody holds its lock
    spool = Spool(directory)
    spool.open()
    segments = spool.sealed_segments()
    assert len(segments) == 1 and read_segment(segments[0])[0]["request_id"] == f"{7:032x}"
    other = Spool(directory)  # a live owner's active file is left alone
    assert other.sealed_segments() == segments
    spool.close()


async def test_a_segment_is_claimed_by_one_replayer(tmp_path):
    spool = Spool(tmp_path / "spool")
    spool.append(_line(1))
    sealed = await spool.seal()
    with claimed(sealed) as first:
        assert first is not None
        with claimed(sealed) as second:
            assert second is None
    with claimed(tmp_path / "gone.jsonl") as missing:
        assert missing is None
    spool.close()
