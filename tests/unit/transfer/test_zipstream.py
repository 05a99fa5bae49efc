"""The zip stream reader on a real Nextcloud 30 archive and on zips with data descriptors."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
from pathlib import Path

import pytest

from rcwiz.transfer.zipstream import Entry, Reader, Unreadable

ARCHIVE = Path(__file__).parents[2] / "data" / "nextcloud" / "archive-30.zip"


def _read(data: bytes, piece: int) -> dict[str, Entry]:
    found: dict[str, Entry] = {}
    reader = Reader(lambda entry: found.__setitem__(entry.name, entry))
    for at in range(0, len(data), piece):
        reader.write(data[at : at + piece])
    reader.close()
    return found


def _truth(data: bytes) -> dict[str, str]:
    """Every file's SHA-1 as Python's zipfile reads it (from the central directory)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            info.filename: hashlib.sha1(archive.read(info)).hexdigest()
            for info in archive.infolist()
            if not info.is_dir()
        }


@pytest.mark.parametrize("piece", [1, 5, 64, 1 << 20])
def test_a_real_nextcloud_archive_is_hashed_entry_by_entry(piece: int) -> None:
    # Captured from Nextcloud 30.0.1: data descriptors, a UTF-8 name, an empty file, and a
    # file whose bytes hold a data descriptor's and a local header's signature.
    data = ARCHIVE.read_bytes()
    found = _read(data, piece)
    assert {name: entry.digest for name, entry in found.items()} == _truth(data)
    assert found["cap/tricky.bin"].size == 27
    assert "cap/sub/été 😀.txt" in found


class _Unseekable(io.RawIOBase):
    """Where zipfile must write data descriptors (as Nextcloud's streamer does)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk: bytes) -> int:  # type: ignore[override]
        self.data += chunk
        return len(chunk)


def _zip(files: dict[str, bytes], *, seekable: bool) -> bytes:
    out: io.BytesIO | _Unseekable = io.BytesIO() if seekable else _Unseekable()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in files.items():
            with archive.open(name, "w") as entry:
                entry.write(content)
    return bytes(out.getvalue() if isinstance(out, io.BytesIO) else out.data)


@pytest.mark.parametrize("seekable", [True, False])
def test_sizes_in_the_header_or_after_the_data(seekable: bool) -> None:
    fake = b"PK\x07\x08" + bytes(12) + b"PK\x03\x04"
    files = {f"d/{n}.bin": bytes(range(256)) * n + fake * (n % 3) for n in range(40)}
    data = _zip(files, seekable=seekable)
    found = _read(data, 97)
    assert {n: e.digest for n, e in found.items()} == {
        n: hashlib.sha1(c).hexdigest() for n, c in files.items()
    }


def test_a_descriptor_inside_the_data_ends_it_only_when_its_crc_fits() -> None:
    # The bytes hold what looks like this entry's descriptor (the right size, the next
    # record's signature after it); only its CRC tells it apart.
    prefix = b"data before"
    fake = b"PK\x07\x08" + struct.pack("<3L", 1234, len(prefix), len(prefix)) + b"PK\x03\x04"
    files = {"a.bin": prefix + fake + b"and after", "b.bin": b"next"}
    found = _read(_zip(files, seekable=False), 7)
    assert found["a.bin"].digest == hashlib.sha1(files["a.bin"]).hexdigest()
    assert found["a.bin"].size == len(files["a.bin"])


def test_an_archive_cut_off_is_unreadable() -> None:
    data = ARCHIVE.read_bytes()
    end = data.index(b"PK\x01\x02")  # the central directory never arrives
    reader = Reader(lambda entry: None)
    reader.write(data[: end - 10])
    with pytest.raises(Unreadable, match="cut off"):
        reader.close()


def test_an_error_page_is_not_an_archive() -> None:
    with pytest.raises(Unreadable):
        Reader(lambda entry: None).write(b"<!DOCTYPE html><html>...</html>")


def test_compressed_entries_are_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.txt", b"a" * 1000)
    with pytest.raises(Unreadable, match="compressed"):
        _read(out.getvalue(), 1000)
