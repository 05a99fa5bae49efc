"""Files out of an archive a server sent, written where they belong and nowhere else.

The archive (rcwiz.nextcloud.archive) is checked whole before anything is written:

* it ends with its end-of-central-directory record, no comment and nothing after it (a cut-off
  answer, or an error page after the data, fails here), and its index is of a bounded size;
* every entry's name is a relative path of plain parts: no absolute path, drive letter,
  backslash, NUL, ".", ".." or empty part; no two entries share a name (also after NFC);
* no symbolic link or other special file, no encryption, only stored or deflated data;
* every file entry is one that was asked for, or lies in a folder asked for as a whole (a file
  added on the server since the listing: it is not written, rclone judges it later).

Any of those refuses the whole archive (Refused). Then each file is written by
Destination.write under the name the listing gives (never the archive's), to a temporary
name in its folder and renamed into place once its size is the listing's and its CRC checked,
with the listing's modification time (an archive's times are in the server's time zone and
rounded to 2 s). Folders are opened without following symbolic links, so a link in the
destination cannot carry a file elsewhere. An interruption leaves no temporary file and no
partial file under a real name.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import struct
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping
from typing import IO

CHUNK = 1024 * 1024
_EOCD = struct.Struct("<4s4H2LH")  # the end-of-central-directory record, 22 bytes
_LOCATOR = struct.Struct("<4sLQL")  # the ZIP64 end-of-central-directory locator, 20 bytes
_EOCD64 = struct.Struct("<4sQ2H2L4Q")  # the ZIP64 end-of-central-directory record, 56 bytes
INDEX_PER_ENTRY = 1024  # bytes of central directory an expected entry may take, at most
_REPORT = re.compile(r"missing_files( \(\d+\))?\.json")  # Nextcloud 33's list of what it left out
_PARTIAL = ".rcwiz-partial"


class Refused(Exception):
    """The archive is not used at all; the message says why."""


class Unwritten(Exception):
    """One file could not be put in place; the message says why."""


def safe_entry(name: str) -> bool:
    """NAME is a relative path of plain parts (a folder entry may end in one '/')."""
    path = name[:-1] if name.endswith("/") else name
    if not path or "\\" in path or "\x00" in path or path.startswith("/"):
        return False
    if re.match(r"[A-Za-z]:", path):
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _index_size(file: IO[bytes]) -> int:
    """The size of the central directory, from the record that must end the file."""
    end = file.seek(0, os.SEEK_END)
    if end < _EOCD.size:
        raise Refused("the answer is too short to be a zip archive")
    file.seek(end - _EOCD.size)
    signature, *_, size, offset, comment = _EOCD.unpack(file.read(_EOCD.size))
    if signature != b"PK\x05\x06" or comment:
        raise Refused("the archive does not end with its index (cut off, or more after it)")
    if size != 0xFFFFFFFF and offset != 0xFFFFFFFF:
        return size
    at = end - _EOCD.size - _LOCATOR.size
    if at < 0:
        raise Refused("the archive's ZIP64 index is missing")
    file.seek(at)
    signature, _, record, _ = _LOCATOR.unpack(file.read(_LOCATOR.size))
    if signature != b"PK\x06\x07" or record > at:
        raise Refused("the archive's ZIP64 index is missing")
    file.seek(record)
    fields = _EOCD64.unpack(file.read(_EOCD64.size))
    if fields[0] != b"PK\x06\x06":
        raise Refused("the archive's ZIP64 index is missing")
    return fields[8]


def _kind(info: zipfile.ZipInfo) -> int:
    """The entry's Unix file type (0 when the archive was not made on Unix)."""
    return stat.S_IFMT(info.external_attr >> 16) if info.create_system == 3 else 0


def _check(info: zipfile.ZipInfo) -> None:
    if not safe_entry(info.filename):
        raise Refused(f"it holds an entry named {info.filename!r}, outside the destination")
    kind = _kind(info)
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise Refused(f"it holds a link or special file, {info.filename!r}")
    if (kind == stat.S_IFDIR) != info.is_dir() and kind:
        raise Refused(f"its entry {info.filename!r} is a folder and a file at once")
    if info.flag_bits & 0x1:
        raise Refused(f"its entry {info.filename!r} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise Refused(f"its entry {info.filename!r} is compressed in a way rcwiz does not read")


class Archive:
    """A checked archive: `members` maps each wanted relative path found to its entry."""

    def __init__(
        self,
        file: IO[bytes],
        entries: Mapping[str, str],
        whole: Iterable[str] = (),
        folders: int = 0,
    ) -> None:
        """Check FILE as the answer for ENTRIES (entry name -> relative path); entries under
        the folders named in WHOLE (holding FOLDERS folders) may be there without being
        asked for, and are not written."""
        limit = INDEX_PER_ENTRY * (len(entries) + folders + 64)
        if _index_size(file) > limit:
            raise Refused("its index is larger than the files asked for can need")
        try:
            self.zip = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, ValueError, OSError) as exc:
            raise Refused(f"it cannot be read as a zip archive ({exc})") from exc
        wanted = {_nfc(name): rel for name, rel in entries.items()}
        prefixes = tuple(f"{_nfc(name)}/" for name in whole)
        self.members: dict[str, zipfile.ZipInfo] = {}
        seen: set[str] = set()
        for info in self.zip.infolist():
            _check(info)
            name = _nfc(info.filename)
            if name in seen:
                raise Refused(f"it holds {info.filename!r} twice")
            seen.add(name)
            if info.is_dir() or _REPORT.fullmatch(name):
                continue
            if name in wanted:
                self.members[wanted[name]] = info
            elif not name.startswith(prefixes):
                raise Refused(f"it holds {info.filename!r}, which was not asked for")

    def extract(self, relative: str, dest: Destination, size: int, mtime: float) -> bool:
        """Write RELATIVE's entry to DEST (Destination.write); its CRC is checked on the way.

        Raises Unwritten when it is not there, not SIZE bytes, damaged or cannot be written.
        """
        info = self.members.get(relative)
        if info is None:
            raise Unwritten("the archive did not hold it")
        if info.file_size != size:
            raise Unwritten(f"the archive holds {info.file_size} bytes, the listing says {size}")
        try:
            with self.zip.open(info) as data:
                return dest.write(relative, data, size, mtime)
        except zipfile.BadZipFile as exc:
            raise Unwritten(f"its data in the archive is damaged ({exc})") from exc

    def close(self) -> None:
        self.zip.close()


class Destination:
    """Writes files below one local folder, never through a symbolic link inside it."""

    MAX_OPEN = 64  # folders kept open at once (a tree may hold more than the fd limit)

    def __init__(self, root: str | os.PathLike[str]) -> None:
        os.makedirs(root, exist_ok=True)
        self._fds: dict[str, int] = {"": os.open(root, os.O_RDONLY | os.O_DIRECTORY)}

    @staticmethod
    def supported() -> bool:
        """The system can open and rename relative to a folder (POSIX dir_fd calls)."""
        return hasattr(os, "O_NOFOLLOW") and {os.open, os.utime, os.rename} <= os.supports_dir_fd

    def folder(self, relative: str, *, make: bool = True) -> int:
        """An open descriptor of folder RELATIVE (made if missing and MAKE), no link followed."""
        if relative in self._fds:
            return self._fds[relative]
        if not safe_entry(relative):
            raise OSError(errno.EINVAL, f"not a plain relative path: {relative!r}")
        parent, _, name = relative.rpartition("/")
        above = self.folder(parent, make=make)
        if make:
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, dir_fd=above)
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
        self._fds[relative] = os.open(name, flags, dir_fd=above)
        return self._fds[relative]

    def write(self, relative: str, data: IO[bytes], size: int, mtime: float) -> bool:
        """Put DATA (exactly SIZE bytes) at RELATIVE with MTIME; True when it replaced a file.

        Raises Unwritten, and leaves nothing behind, when the data or the folder is not
        what was expected.
        """
        parent, _, name = relative.rpartition("/")
        if len(self._fds) > self.MAX_OPEN:
            self._forget()
        try:
            if not safe_entry(relative):
                raise OSError(errno.EINVAL, f"not a plain relative path: {relative!r}")
            where = self.folder(parent)
            temp = f".{name[:40]}.{secrets.token_hex(4)}{_PARTIAL}"  # within NAME_MAX
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            handle = os.open(temp, flags, 0o666, dir_fd=where)
        except OSError as exc:
            raise Unwritten(f"its folder cannot be written ({exc.strerror or exc})") from exc
        try:
            with open(handle, "wb", closefd=True) as out:
                copied = _copy(data, out, size)
            if copied != size:
                raise Unwritten(f"{copied} bytes came, the listing says {size}")
            os.utime(temp, ns=(round(mtime * 1e9),) * 2, dir_fd=where)
            replaced = _exists(name, where)
            os.rename(temp, name, src_dir_fd=where, dst_dir_fd=where)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=where)
            if isinstance(exc, OSError):
                raise Unwritten(f"it cannot be written ({exc.strerror or exc})") from exc
            raise
        return replaced

    def set_folder_time(self, relative: str, mtime: float) -> None:
        """Give folder RELATIVE the time MTIME (not made when missing: OSError)."""
        if len(self._fds) > self.MAX_OPEN:
            self._forget()
        os.utime(self.folder(relative, make=False), ns=(round(mtime * 1e9),) * 2)

    def _forget(self) -> None:
        """Close every folder but the root."""
        for relative in [r for r in self._fds if r]:
            os.close(self._fds.pop(relative))

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def __enter__(self) -> Destination:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _copy(data: IO[bytes], out: IO[bytes], size: int) -> int:
    """Copy DATA to OUT a chunk at a time; stop past SIZE (the answer is not what was listed)."""
    copied = 0
    while chunk := data.read(CHUNK):
        copied += len(chunk)
        if copied > size:
            break
        out.write(chunk)
    return copied


def _exists(name: str, folder: int) -> bool:
    try:
        os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True
