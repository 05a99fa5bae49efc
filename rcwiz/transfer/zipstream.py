"""A zip archive read as it arrives, each entry hashed on the fly: nothing written to disk.

rcwiz.transfer.unzip writes an archive to a file first, because the sizes of Nextcloud's
entries are only at their end (each entry's local header says 0 and sets the "data descriptor"
flag; the sizes follow the data). To prove content, nothing needs to be kept: `Reader` takes
the answer chunk by chunk (`write`, so it can stand where a file would) and hashes each entry's
bytes as they pass, with memory bounded by a chunk.

An entry whose size is not in its header (flag bit 3) ends where a data descriptor follows
whose CRC-32 and size are those of the bytes read so far, and after which the next record
begins (another entry, or the central directory): a stored entry cannot be cut anywhere else
by chance. Only stored entries are read (Nextcloud stores; it does not compress); anything
else, or a broken archive, is Unreadable. The central directory is not needed and is skipped.
"""

from __future__ import annotations

import hashlib
import struct
import unicodedata
import zlib
from collections.abc import Callable
from dataclasses import dataclass

_LOCAL = b"PK\x03\x04"
_DESCRIPTOR = b"PK\x07\x08"
_ENDS = (b"PK\x01\x02", b"PK\x06\x06", b"PK\x05\x06")  # the central directory and its end
_HEADER = struct.Struct("<4s5H3L2H")  # a local file header, 30 bytes
_LOOKAHEAD = 24 + 4  # the longest descriptor (ZIP64) and the next record's signature
MAX_NAME = 65535 + 65535  # a name and its extra field, at most


class Unreadable(Exception):
    """The answer cannot be read as the stored zip Nextcloud sends; the message says why."""


@dataclass(frozen=True)
class Entry:
    """One file of the archive: its name as the archive gives it, its size and digest."""

    name: str
    size: int
    digest: str  # hex, of the algorithm the Reader was made with


class Reader:
    """Takes an archive's bytes in any pieces (`write`) and calls `found` once per file entry.

    Folders (names ending in "/") are not reported. `close` checks the archive ended where
    it should (its central directory reached).
    """

    def __init__(self, found: Callable[[Entry], None], algorithm: str = "sha1") -> None:
        self.found = found
        self.algorithm = algorithm
        self._buffer = bytearray()
        self._state = self._header
        self._name = ""
        self._left = -1  # bytes of data still to come; -1: until its descriptor
        self._size = 0
        self._crc = 0
        self._expected_crc = 0  # from the local header, when it gives the size
        self._hash = hashlib.new(algorithm)
        self._ended = False

    def write(self, chunk: bytes) -> int:
        """Read CHUNK (the next bytes of the answer); Unreadable when it is not a zip."""
        if self._ended:
            return len(chunk)  # the central directory: nothing in it is needed
        self._buffer += chunk
        while self._state():
            pass
        return len(chunk)

    def close(self) -> None:
        """The answer is complete: Unreadable when it stopped inside an entry."""
        if not self._ended:
            raise Unreadable("the archive stopped before its end (cut off)")

    def _header(self) -> bool:
        """A local header, or the start of the central directory; False: more bytes needed."""
        if len(self._buffer) < 4:
            return False
        signature = bytes(self._buffer[:4])
        if signature in _ENDS:
            self._ended = True
            self._buffer.clear()
            return False
        if signature != _LOCAL:
            raise Unreadable("an entry does not start where the one before it ended")
        if len(self._buffer) < _HEADER.size:
            return False
        _, _, flags, method, _, _, crc, packed, size, name_length, extra_length = (
            _HEADER.unpack_from(self._buffer)
        )
        end = _HEADER.size + name_length + extra_length
        if len(self._buffer) < end:
            return False
        name_bytes = bytes(self._buffer[_HEADER.size : _HEADER.size + name_length])
        extra = bytes(self._buffer[_HEADER.size + name_length : end])
        del self._buffer[:end]
        if flags & 0x1:
            raise Unreadable("an entry is encrypted")
        if method != 0:
            raise Unreadable("an entry is compressed (rcwiz reads stored entries only)")
        self._name = unicodedata.normalize(
            "NFC", name_bytes.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        )
        self._size, self._crc, self._hash = 0, 0, hashlib.new(self.algorithm)
        if flags & 0x8:
            self._left = -1
        else:
            if size == 0xFFFFFFFF or packed == 0xFFFFFFFF:
                size = _zip64_size(extra)
            elif packed != size:
                raise Unreadable("a stored entry whose sizes disagree")
            self._left = size
            self._expected_crc = crc
        self._state = self._data
        return True

    def _data(self) -> bool:
        """An entry's bytes: hashed as they pass, never kept beyond the lookahead."""
        if self._left >= 0:
            take = min(self._left, len(self._buffer))
            self._consume(take)
            self._left -= take
            if self._left:
                return False
            if self._crc != self._expected_crc:
                raise Unreadable(f"the data of {self._name!r} does not match its CRC")
            self._done()
            return True
        return self._scan()

    def _scan(self) -> bool:
        """Data of unknown size: it ends at the first descriptor that fits what was read."""
        start = 0
        while True:
            at = self._buffer.find(_DESCRIPTOR, start)
            if at < 0 or len(self._buffer) - at < _LOOKAHEAD:
                # Keep what might be the start of a descriptor; the rest is data.
                keep = len(self._buffer) - at if at >= 0 else min(3, len(self._buffer))
                self._consume(len(self._buffer) - keep)
                return False
            length = self._descriptor_at(at)
            if length:
                self._consume(at)
                del self._buffer[:length]
                self._done()
                return True
            start = at + 1

    def _descriptor_at(self, at: int) -> int:
        """The descriptor's length when one that ends the current entry starts AT, else 0."""
        crc = zlib.crc32(self._buffer[:at], self._crc)
        size = self._size + at
        for length, form in ((16, "<4s3L"), (24, "<4sL2Q")):
            _, found_crc, _, found_size = struct.unpack_from(form, self._buffer, at)
            following = bytes(self._buffer[at + length : at + length + 4])
            if (
                found_crc == crc
                and found_size == size
                and (following == _LOCAL or following in _ENDS)
            ):
                return length
        return 0

    def _consume(self, count: int) -> None:
        if count <= 0:
            return
        piece = self._buffer[:count]
        self._crc = zlib.crc32(piece, self._crc)
        self._hash.update(piece)
        self._size += count
        del self._buffer[:count]

    def _done(self) -> None:
        self._state = self._header
        if not self._name.endswith("/"):
            self.found(Entry(self._name, self._size, self._hash.hexdigest()))


def _zip64_size(extra: bytes) -> int:
    """The uncompressed size in a local header's ZIP64 extra field."""
    at = 0
    while at + 4 <= len(extra):
        kind, length = struct.unpack_from("<2H", extra, at)
        if kind == 0x0001 and length >= 8:
            return int(struct.unpack_from("<Q", extra, at + 4)[0])
        at += 4 + length
    raise Unreadable("an entry's ZIP64 size is missing")
