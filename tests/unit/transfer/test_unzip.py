"""Reading a server's zip safely: what is refused, what is written, and where.

The archives are made the way Nextcloud makes them (stored entries with data descriptors,
written to a stream that cannot seek; ZIP64 when asked), then spoiled on purpose.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest

from rcwiz.transfer import unzip

MTIME = 1_700_000_000.0


class _Stream(io.RawIOBase):
    """A write-only stream without seek: zipfile then writes data descriptors, as Nextcloud."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[override]
        self.data += b
        return len(b)


def make_zip(entries, *, zip64: bool = False) -> bytes:
    """A zip of ENTRIES: (name, data) or (ZipInfo, data)."""
    out = _Stream()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for name, data in entries:
            info = name if isinstance(name, zipfile.ZipInfo) else zipfile.ZipInfo(name)
            if not isinstance(name, zipfile.ZipInfo):  # as Nextcloud: Unix modes, folders 0x10
                folder = name.endswith("/")
                mode = stat.S_IFDIR | 0o755 if folder else stat.S_IFREG | 0o644
                info.external_attr = mode << 16 | (0x10 if folder else 0)
                info.create_system = 3
            with zf.open(info, "w", force_zip64=zip64) as handle:
                handle.write(data)
    return bytes(out.data)


def archive_of(raw: bytes, entries, whole=()) -> unzip.Archive:
    return unzip.Archive(io.BytesIO(raw), entries, whole)


def extract_all(raw: bytes, files: dict[str, bytes], dest: Path, whole=()) -> dict:
    """Check RAW as the answer for FILES (entry = relative path) and write them to DEST."""
    results = {}
    archive = archive_of(raw, {rel: rel for rel in files}, whole)
    with unzip.Destination(dest) as out:
        for rel, data in files.items():
            try:
                archive.extract(rel, out, len(data), MTIME)
                results[rel] = None
            except unzip.Unwritten as exc:
                results[rel] = str(exc)
    archive.close()
    return results


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_files_are_written_with_the_listings_time_and_nothing_else(tmp_path):
    files = {"a.txt": b"alpha", "sub/deeper/b.bin": os.urandom(3000), "empty": b""}
    raw = make_zip(files.items())
    assert extract_all(raw, files, tmp_path / "out") == dict.fromkeys(files)
    assert tree(tmp_path / "out") == files  # no temporary file left either
    for rel in files:
        assert (tmp_path / "out" / rel).stat().st_mtime == MTIME


def test_a_zip64_archive_is_read(tmp_path):
    files = {"z/one": b"1" * 10, "z/two": b""}
    assert extract_all(make_zip(files.items(), zip64=True), files, tmp_path) == dict.fromkeys(files)
    assert tree(tmp_path) == files


@pytest.mark.parametrize(
    "name",
    ["../x", "/etc/passwd", "a/../../x", "C:x", "c:/x", "a\\..\\x", "./a", "a//b", "a/./b", ".."],
)
def test_an_entry_outside_the_destination_refuses_the_whole_archive(tmp_path, name):
    raw = make_zip([("good.txt", b"good"), (name, b"evil")])
    with pytest.raises(unzip.Refused, match="outside the destination"):
        archive_of(raw, {"good.txt": "good.txt", name: "x"})
    assert not unzip.safe_entry(name)


def test_a_symbolic_link_or_special_file_refuses_the_archive():
    for kind in (stat.S_IFLNK, stat.S_IFIFO, stat.S_IFCHR):
        link = zipfile.ZipInfo("link")
        link.create_system = 3
        link.external_attr = (kind | 0o777) << 16
        raw = make_zip([("a", b"a"), (link, b"/etc/passwd")])
        with pytest.raises(unzip.Refused, match="link or special file"):
            archive_of(raw, {"a": "a", "link": "link"})


def test_an_entry_not_asked_for_refuses_the_archive_unless_in_a_whole_folder(tmp_path):
    raw = make_zip([("a", b"a"), ("extra", b"x")])
    with pytest.raises(unzip.Refused, match="not asked for"):
        archive_of(raw, {"a": "a"})
    raw = make_zip([("d/", b""), ("d/a", b"a"), ("d/new", b"added since the listing")])
    assert extract_all(raw, {"d/a": b"a"}, tmp_path, whole=["d"]) == {"d/a": None}
    assert tree(tmp_path) == {"d/a": b"a"}  # the unlisted file is not written


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_a_name_twice_refuses_the_archive_also_after_normalisation():
    with pytest.raises(unzip.Refused, match="twice"):
        archive_of(make_zip([("a", b"1"), ("a", b"2")]), {"a": "a"})
    nfc, nfd = "\u00e9.txt", "e\u0301.txt"
    with pytest.raises(unzip.Refused, match="twice"):
        archive_of(make_zip([(nfc, b"1"), (nfd, b"2")]), {nfc: nfc})


def test_an_encrypted_entry_refuses_the_archive():
    raw = bytearray(make_zip([("a", b"secret")]))
    # Set bit 0 (encrypted) of the general-purpose flags in the central directory entry.
    at = raw.rindex(b"PK\x01\x02") + 8
    raw[at] |= 1
    with pytest.raises(unzip.Refused, match="encrypted"):
        archive_of(bytes(raw), {"a": "a"})


@pytest.mark.parametrize(
    "spoil",
    [
        lambda raw: raw[: len(raw) // 2],  # cut off while streaming
        lambda raw: raw[:-1],  # the last byte missing
        lambda raw: raw + b"<html>Error</html>",  # an error page after the data
        lambda raw: b"<!DOCTYPE html><html>Cannot download file</html>",
        lambda raw: b"",
    ],
)
def test_a_truncated_or_foreign_answer_is_refused(spoil):
    raw = make_zip([("a", b"a" * 5000), ("b", b"b")])
    with pytest.raises(unzip.Refused):
        archive_of(spoil(raw), {"a": "a", "b": "b"})


def test_an_index_larger_than_the_request_can_need_is_refused():
    many = [(f"f{i}", b"") for i in range(3000)]
    with pytest.raises(unzip.Refused, match="index is larger"):
        archive_of(make_zip(many), {"f0": "f0"})


def test_a_size_other_than_the_listings_is_not_written_and_the_rest_is(tmp_path):
    raw = make_zip([("a", b"grown since the listing"), ("b", b"b")])
    results = extract_all(raw, {"a": b"short", "b": b"b"}, tmp_path)
    assert results["b"] is None and "listing says 5" in results["a"]
    assert tree(tmp_path) == {"b": b"b"}


def test_damaged_data_is_not_written(tmp_path):
    raw = bytearray(make_zip([("a", b"A" * 100)]))
    at = raw.index(b"A" * 100)
    raw[at + 50] = ord("B")  # the CRC no longer matches
    results = extract_all(bytes(raw), {"a": b"A" * 100}, tmp_path)
    assert "damaged" in results["a"]
    assert tree(tmp_path) == {}


def test_a_missing_entry_is_reported(tmp_path):
    results = extract_all(make_zip([("a", b"a")]), {"a": b"a", "gone": b"x"}, tmp_path)
    assert results == {"a": None, "gone": "the archive did not hold it"}


def test_a_symbolic_link_in_the_destination_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "sub").symlink_to(outside)
    files = {"sub/a": b"a", "b": b"b"}
    results = extract_all(make_zip(files.items()), files, dest)
    assert results["b"] is None and "cannot be written" in results["sub/a"]
    assert list(outside.iterdir()) == []


def test_a_replaced_file_is_swapped_whole_and_an_interruption_leaves_it(tmp_path):
    (tmp_path / "a").write_bytes(b"old")

    class Interrupted(io.BytesIO):
        def read(self, size=-1):
            data = super().read(4)
            if self.tell() > 8:
                raise KeyboardInterrupt
            return data

    with unzip.Destination(tmp_path) as out, pytest.raises(KeyboardInterrupt):
        out.write("a", Interrupted(b"new content"), 11, MTIME)
    assert tree(tmp_path) == {"a": b"old"}  # no temporary file, the old one intact
    with unzip.Destination(tmp_path) as out:
        assert out.write("a", io.BytesIO(b"new content"), 11, MTIME) is True
        assert out.write("new", io.BytesIO(b"x"), 1, MTIME) is False
    assert tree(tmp_path) == {"a": b"new content", "new": b"x"}


def test_the_destination_refuses_a_path_that_leaves_it(tmp_path):
    dest = tmp_path / "dest"
    with unzip.Destination(dest) as out:
        for bad in ("../x", "/tmp/x", "a/../../x"):
            with pytest.raises(unzip.Unwritten):
                out.write(bad, io.BytesIO(b"x"), 1, MTIME)
    assert list(tmp_path.rglob("x")) == []


def test_folder_times_are_set_only_on_folders_that_are_there(tmp_path):
    (tmp_path / "d").mkdir()
    with unzip.Destination(tmp_path) as out:
        out.set_folder_time("d", MTIME)
        with pytest.raises(OSError):
            out.set_folder_time("missing", MTIME)
    assert (tmp_path / "d").stat().st_mtime == MTIME and not (tmp_path / "missing").exists()
