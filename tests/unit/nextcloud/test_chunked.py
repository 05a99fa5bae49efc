"""Pure parts of the parallel chunked upload: chunk layout, session names, the file bodies."""

import hashlib

import pytest

from rcwiz import errors
from rcwiz.nextcloud import chunked

MiB = 1024 * 1024


def test_chunks_cover_the_file_once_and_are_named_from_one():
    parts = chunked.chunks(10 * MiB + 5, 4 * MiB)
    assert parts == [(1, 0, 4 * MiB), (2, 4 * MiB, 4 * MiB), (3, 8 * MiB, 2 * MiB + 5)]
    assert chunked.chunks(8 * MiB, 4 * MiB)[-1] == (2, 4 * MiB, 4 * MiB)


def test_chunk_size_keeps_within_the_servers_limits():
    assert chunked.chunk_size_for(10**9, 16 * MiB, 4) == 16 * MiB
    assert chunked.chunk_size_for(40 * MiB, 32 * MiB, 4) == 10 * MiB  # four at once
    assert chunked.chunk_size_for(10**9, MiB) == chunked.MIN_CHUNK  # parts of 5 MiB at least
    assert chunked.chunk_size_for(12 * MiB, 32 * MiB, 4) == chunked.MIN_CHUNK
    huge = 200 * 1024**3  # 200 GiB in 16 MiB chunks would be 12 800 of them
    size = chunked.chunk_size_for(huge, 16 * MiB)
    assert len(chunked.chunks(huge, size)) <= chunked.MAX_CHUNKS


def test_session_name_depends_only_on_the_path():
    name = chunked.session_name("/results/big.bin")
    assert name == chunked.session_name("results/big.bin")
    assert name == "rcwiz-chunked-upload-" + hashlib.md5(b"results/big.bin").hexdigest()
    assert name != chunked.session_name("/results/other.bin")


def test_a_file_range_is_read_afresh_each_time_in_blocks(tmp_path):
    path = tmp_path / "f.bin"
    data = bytes(range(256)) * (3 * 4096 + 7)  # a little over 3 MiB
    path.write_bytes(data)
    body = chunked.FileRange(str(path), 1000, 2 * MiB + 3)
    blocks = list(body)
    first = b"".join(blocks)
    assert first == data[1000 : 1000 + 2 * MiB + 3]
    assert b"".join(body) == first  # a retried request sends the same bytes
    assert max(len(b) for b in blocks) <= chunked.BLOCK


def test_a_file_that_shrank_while_it_was_sent_stops_its_chunk(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 100)
    with pytest.raises(errors.SourceChanged):
        b"".join(chunked.FileRange(str(path), 50, 80))
