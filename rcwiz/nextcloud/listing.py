"""A whole remote tree in one request: WebDAV PROPFIND with `Depth: infinity`.

`rclone lsjson -R` asks one folder at a time (a round trip per folder, after rclone's own
start-up); Nextcloud answers the whole tree at once. The answer is parsed as it arrives
(bounded memory besides the listing itself) and trusted only when it is exactly what rclone's
listing would hold: every folder reports how many files and folders it holds directly
(`nc:contained-file-count`, `nc:contained-folder-count`) and the answer must list exactly
those, every file has a size and a time, every name is one rclone would not encode (so the
names are the ones rclone shows) and lies inside the folder asked for. Anything else (another
status, a server without those counts, a name of another kind, a broken answer, no answer
within the stall timeout from a server that otherwise answers) gives None, and the caller
lists with rclone instead; a server that answers nothing at all is Stalled.

The answer is checked as it comes, not only at its end: Nextcloud lists a folder before
what it holds (depth first), so an entry whose folder has not been listed, or one more entry
than its folder said it holds, ends the reading at once, as does one response longer than
MAX_RESPONSE. An endless answer (valid entries for ever) thus stops after at most the
entries the server said there are, and the memory for a listing stays proportional to the
entries it keeps. The request's deadline is the run's (rcwiz.clock): a listing that streams
is read for as long as it streams, a trickle is Stalled.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from email.utils import parsedate_to_datetime
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element, ParseError, XMLPullParser

from rcwiz import errors
from rcwiz.clock import PROBE
from rcwiz.http import answers
from rcwiz.nextcloud.bulk import safe_name
from rcwiz.nextcloud.http import Client
from rcwiz.nextcloud.urls import files_path
from rcwiz.rclone.lsjson import Listing

_D = "{DAV:}"
_NC = "{http://nextcloud.org/ns}"
_FILES = f"{_NC}contained-file-count"
_FOLDERS = f"{_NC}contained-folder-count"
_OC = "{http://owncloud.org/ns}"
BODY = (
    b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:nc="http://nextcloud.org/ns"'
    b' xmlns:oc="http://owncloud.org/ns">'
    b"<d:prop><d:getlastmodified/><d:getcontentlength/><d:resourcetype/><oc:checksums/>"
    b"<nc:contained-file-count/><nc:contained-folder-count/></d:prop></d:propfind>"
)
CHUNK = 256 * 1024
MAX_RESPONSE = 1024 * 1024  # bytes of one entry's response, at most (real ones: under 1 kB)


class Unusable(Exception):
    """The answer is not one to trust (the caller lists with rclone)."""


def tree(client: Client, dav_user: str, path: str) -> Listing | None:
    """Every file and folder under PATH (relative to DAV_USER's home) as rclone would list
    them; an empty Listing when PATH is not there; None when rclone should list instead."""
    target = files_path(dav_user, path)
    headers = {"Depth": "infinity", "Content-Type": "application/xml; charset=utf-8"}
    try:
        with client.stream("PROPFIND", target, headers=headers, body=BODY) as answer:
            if answer.status == 404:
                return Listing()
            if answer.status != 207:
                return None
            prefix = unquote(urlsplit(client.server).path.rstrip("/") + target)
            return read(prefix, iter(lambda: answer.read(CHUNK), b""))
    except errors.Stalled:
        # The server builds the whole answer before its first byte: a big enough tree takes
        # longer than the stall timeout. A server that still answers is only slow at that
        # (rclone lists it folder by folder); one that does not is hung.
        if answers(client.server, client.clock.at_most(PROBE)):
            return None
        raise
    except (errors.RcwizError, Unusable):
        return None


def read(prefix: str, chunks: Iterable[bytes]) -> Listing:
    """The Listing in a multistatus answer (CHUNKS) for the folder whose unquoted href is
    PREFIX (ending in "/"); Unusable when it is not one to trust."""
    reader = _Reader(prefix)
    parser: XMLPullParser[Element] = XMLPullParser(events=("start", "end"))
    try:
        taken, fed = 0, 0  # responses read, and bytes fed since the last one
        for chunk in chunks:
            parser.feed(chunk)
            reader.take(parser)
            fed = len(chunk) if reader.responses > taken else fed + len(chunk)
            taken = reader.responses
            if fed > MAX_RESPONSE:
                raise Unusable("one response longer than any listing's")
        parser.close()
    except ParseError as exc:
        raise Unusable(f"not XML: {exc}") from None
    reader.take(parser)
    return reader.listing()


class _Reader:
    """Responses turned into a Listing as they are parsed."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix  # the folder's own href, unquoted, ending in "/"
        self.found = Listing()
        self.said: dict[str, tuple[int, int]] = {}  # folder -> (files, folders) it holds
        self.seen_root = False
        self.responses = 0
        self._held: Counter[str] = Counter()  # folder -> entries listed in it so far
        self._top: Element | None = None  # the multistatus element, emptied as it goes

    def take(self, parser: XMLPullParser[Element]) -> None:
        for item in parser.read_events():
            event, element = item[0], item[-1]
            if not isinstance(element, Element):
                continue
            if self._top is None:
                self._top = element
            elif event == "end" and element.tag == f"{_D}response":
                self._response(element)
                try:
                    self._top.remove(element)  # the last child: memory stays flat
                except ValueError:
                    raise Unusable("a response inside another element") from None

    def _response(self, element: Element) -> None:
        self.responses += 1
        href = element.findtext(f"{_D}href") or ""
        path = unquote(urlsplit(href).path)
        if path.rstrip("/") == self.prefix.rstrip("/"):
            relative = ""
        elif path.startswith(self.prefix):
            relative = path[len(self.prefix) :].rstrip("/")
        else:
            raise Unusable(href)
        props = _found_props(element)
        folder = props.find(f"{_D}resourcetype/{_D}collection") is not None
        if relative == "":
            if not folder or self.seen_root:
                raise Unusable("the path is a file, or listed twice")
            self.seen_root = True
        elif not _plain(relative):
            raise Unusable(relative)
        else:
            self._count_in(_parent(relative))
        mtime = _time(props.findtext(f"{_D}getlastmodified"))
        if folder:
            self.said[relative] = (_count(props, _FILES), _count(props, _FOLDERS))
            if relative:
                self.found.folders[relative] = mtime
        else:
            self.found.files[relative] = (_count(props, f"{_D}getcontentlength"), mtime)
            checksum = props.findtext(f"{_OC}checksums/{_OC}checksum")
            if checksum:  # files sent with one (rclone, chunked upload); bulk upload has none
                self.found.checksums[relative] = checksum

    def _count_in(self, folder: str) -> None:
        """One more entry in FOLDER: Unusable as soon as it holds more than it said."""
        if folder not in self.said:
            raise Unusable(f"an entry before its folder {folder or '(the top)'}")
        self._held[folder] += 1
        if self._held[folder] > sum(self.said[folder]):
            raise Unusable(f"{folder or 'the folder'} holds more than it said")

    def listing(self) -> Listing:
        """The listing, once every folder holds what it said it holds."""
        if not self.seen_root:
            raise Unusable("no answer for the folder itself")
        files = Counter(_parent(rel) for rel in self.found.files)
        folders = Counter(_parent(rel) for rel in self.found.folders)
        for rel, (said_files, said_folders) in self.said.items():
            if files[rel] != said_files or folders[rel] != said_folders:
                raise Unusable(f"{rel or 'the folder'} is not listed whole")
        if set(files) - set(self.said) or set(folders) - set(self.said):
            raise Unusable("an entry without its folder")
        return self.found


def _found_props(element: Element) -> Element:
    """The properties the server had (those of the propstat whose status is 200)."""
    merged = Element("prop")
    for propstat in element.iterfind(f"{_D}propstat"):
        if " 200 " in f"{propstat.findtext(f'{_D}status') or ''} ":
            merged.extend(propstat.iterfind(f"{_D}prop/*"))
    return merged


def _plain(relative: str) -> bool:
    """A path rclone shows as it is: no empty, "." or ".." part, nothing rclone encodes."""
    parts = relative.split("/")
    return safe_name(relative) and all(p not in ("", ".", "..") for p in parts)


def _parent(relative: str) -> str:
    return relative.rpartition("/")[0]


def _count(props: Element, tag: str) -> int:
    text = props.findtext(tag)
    try:
        value = int(text or "")
    except ValueError:
        raise Unusable(f"no {tag}") from None
    if value < 0:
        raise Unusable(f"{tag} {value}")
    return value


def _time(text: str | None) -> float:
    """An HTTP date ("Tue, 01 Dec 2026 15:08:34 GMT") as seconds since the epoch."""
    try:
        when = parsedate_to_datetime(text or "")
    except (TypeError, ValueError):
        raise Unusable(f"no time: {text!r}") from None
    if when.tzinfo is None:
        raise Unusable(f"a time without its zone: {text!r}")
    return when.timestamp()
