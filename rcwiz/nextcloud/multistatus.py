"""A PROPFIND answer for a tree read as it arrives, and checked (rcwiz.nextcloud.listing).

Trusted only when it is exactly what rclone's listing would hold: every folder holds exactly
the files and folders the server says it holds directly (`nc:contained-file-count`,
`nc:contained-folder-count`: in each folder's own response, or known before from the outline,
rcwiz.nextcloud.outline), every file has a size and a time, every name is one rclone would
not encode (so the names are the ones rclone shows) and lies inside the folder asked for.
A path that is one file is answered by that file alone: its listing is that file, by its
name, as `rclone lsjson -R` lists it (a download of one file needs no other listing).

The answer is checked as it comes, not only at its end: Nextcloud lists a folder before what
it holds (depth first), so an entry whose folder is not known, or one more entry than its
folder said it holds, ends the reading at once (Unusable), as does one response longer than
MAX_RESPONSE. An endless answer (valid entries for ever) thus stops after at most the entries
the server said there are, and the memory stays proportional to the entries kept.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element, ParseError, XMLPullParser

from rcwiz.nextcloud.bulk import safe_name
from rcwiz.nextcloud.http import Client
from rcwiz.rclone.lsjson import Listing

_D = "{DAV:}"
_NC = "{http://nextcloud.org/ns}"
_FILES = f"{_NC}contained-file-count"
_FOLDERS = f"{_NC}contained-folder-count"
_OC = "{http://owncloud.org/ns}"
_HEAD = (
    b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:nc="http://nextcloud.org/ns"'
    b' xmlns:oc="http://owncloud.org/ns"><d:prop>'
)
_PLAIN = b"<d:getlastmodified/><d:getcontentlength/><d:resourcetype/>"
_CHECKSUMS = b"<oc:checksums/>"
_COUNTS = b"<nc:contained-file-count/><nc:contained-folder-count/>"
_TAIL = b"</d:prop></d:propfind>"
BODY = _HEAD + _PLAIN + _CHECKSUMS + _COUNTS + _TAIL  # everything: the counts in the answer
CHUNK = 256 * 1024
MAX_RESPONSE = 1024 * 1024  # bytes of one entry's response, at most (real ones: under 1 kB)

Said = dict[str, tuple[int, int]]  # folder (relative, "" the top) -> (files, folders) directly


class Unusable(Exception):
    """The answer is not one to trust (the caller lists with rclone)."""


@contextlib.contextmanager
def at_once(client: Client, count: int) -> Iterator[ThreadPoolExecutor]:
    """COUNT threads for CLIENT's requests at once. When the caller fails (Ctrl-C, a hung or
    untrusted answer), CLIENT is aborted: the requests still in flight end now, not at their
    own deadlines, and none is sent after."""
    pool = ThreadPoolExecutor(count)
    try:
        yield pool
    except BaseException:
        client.abort()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def body(*, checksums: bool) -> bytes:
    """A PROPFIND body without the counts (the outline has them): names, sizes, times, and
    the CHECKSUMS when asked."""
    return _HEAD + _PLAIN + (_CHECKSUMS if checksums else b"") + _TAIL


def propfind(
    client: Client,
    target: str,
    prefix: str,
    asked: bytes,
    depth: str,
    *,
    said: Said | None = None,
    counted: bool = False,
    top: str = "",
) -> Listing | None:
    """The PROPFIND (ASKED: its body) answer for TARGET (the folder TOP, relative to PREFIX's
    folder), read as it arrives and checked (see read); None when TARGET is not there;
    Unusable for another status."""
    headers = {"Depth": depth, "Content-Type": "application/xml; charset=utf-8"}
    with client.stream("PROPFIND", target, headers=headers, body=asked) as answer:
        if answer.status == 404:
            return None
        if answer.status != 207:
            raise Unusable(f"HTTP {answer.status}")
        chunks = iter(lambda: answer.read(CHUNK), b"")
        return read(prefix, chunks, said=said, counted=counted, top=top, depth=depth)


def read(
    prefix: str,
    chunks: Iterable[bytes],
    *,
    said: Said | None = None,
    counted: bool = True,
    top: str = "",
    depth: str = "infinity",
) -> Listing:
    """The Listing in a multistatus answer (CHUNKS) for the folder TOP under the folder whose
    unquoted href is PREFIX (ending in "/"); Unusable when it is not one to trust. PREFIX
    may name a file (TOP ""): its one answer is then its listing, the file by its name, as
    `rclone lsjson -R` lists a file.

    SAID: how many files and folders each folder holds. COUNTED: each folder's own response
    says it (and it is written into SAID, when given); else SAID is the outline's, known
    before. DEPTH "1": the answer is the folder's level only (only the folder's own counts
    are checked)."""
    reader = _Reader(prefix, top, {} if said is None else said, counted)
    for element in each_response(chunks):
        reader.response(element)
    return reader.listing(only_top=depth == "1")


def each_response(chunks: Iterable[bytes]) -> Iterator[Element]:
    """The responses of a multistatus answer (CHUNKS), each as soon as it is parsed and then
    dropped (memory stays flat); Unusable for a broken answer, or at once for one response
    longer than MAX_RESPONSE (one that never ends)."""
    parser: XMLPullParser[Element] = XMLPullParser(events=("start", "end"))
    top: list[Element] = []  # the multistatus element, emptied as it goes
    fed = 0  # bytes fed since the last response ended
    try:
        for chunk in chunks:
            parser.feed(chunk)
            fed += len(chunk)
            for element in _ended(parser, top):
                fed = 0
                yield element
            if fed > MAX_RESPONSE:
                raise Unusable("one response longer than any listing's")
        parser.close()
    except ParseError as exc:
        raise Unusable(f"not XML: {exc}") from None
    yield from _ended(parser, top)


def _ended(parser: XMLPullParser[Element], top: list[Element]) -> Iterator[Element]:
    """The responses PARSER has ended since last asked, each removed from TOP once handed."""
    for item in parser.read_events():
        event, element = item[0], item[-1]
        if not isinstance(element, Element):
            continue
        if not top:
            top.append(element)
        elif event == "end" and element.tag == f"{_D}response":
            yield element
            try:
                top[0].remove(element)  # the last child: memory stays flat
            except ValueError:
                raise Unusable("a response inside another element") from None


class _Reader:
    """Responses turned into a Listing as they are parsed."""

    def __init__(self, prefix: str, top: str, said: Said, counted: bool) -> None:
        self.prefix = prefix  # the listed folder's own href, unquoted, ending in "/"
        self.top = top  # the folder this answer is for, relative to it ("": itself)
        self.found = Listing()
        self.counted = counted  # each folder's counts come with it in the answer
        self.said = said  # folder -> (files, folders) it holds
        self.seen_top = False
        self.one_file = False  # the path is a file (nothing else may follow it)
        self._held: Counter[str] = Counter()  # folder -> entries listed in it so far

    def response(self, element: Element) -> None:
        """One response, checked and kept."""
        if self.one_file:
            raise Unusable("an entry after the file asked for")
        href = element.findtext(f"{_D}href") or ""
        relative = relative_to(self.prefix, href)
        props = found_props(element)
        folder = props.find(f"{_D}resourcetype/{_D}collection") is not None
        if relative == self.top:
            if self.seen_top or (not folder and self.top):
                raise Unusable("a folder that is a file, or listed twice")
            self.seen_top = True
            if not folder:  # the path asked for is one file: listed as rclone lists it
                relative = self.prefix.rstrip("/").rpartition("/")[2]
                if not _plain(relative):
                    raise Unusable(relative)
                self.one_file = True
        elif not relative.startswith(f"{self.top}/" if self.top else ""):
            raise Unusable(f"{relative} is not in {self.top}")
        else:
            self._count_in(parent(relative))
        mtime = http_time(props.findtext(f"{_D}getlastmodified"))
        if folder:
            if self.counted:
                self.said[relative] = (whole_number(props, _FILES), whole_number(props, _FOLDERS))
            elif relative not in self.said:
                raise Unusable(f"{relative or 'the folder'} is not in the outline")
            if relative:
                self.found.folders[relative] = mtime
        else:
            self.found.files[relative] = (whole_number(props, f"{_D}getcontentlength"), mtime)
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

    def listing(self, *, only_top: bool = False) -> Listing:
        """The listing, once every folder listed holds what it said it holds (ONLY_TOP: the
        folder asked for, of an answer of one level)."""
        if not self.seen_top:
            raise Unusable("no answer for the folder itself")
        if self.one_file:
            return self.found
        files = Counter(parent(rel) for rel in self.found.files)
        folders = Counter(parent(rel) for rel in self.found.folders)
        mine = [self.top] if only_top else [self.top, *self.found.folders]
        for rel in mine:
            said_files, said_folders = self.said[rel]
            if files[rel] != said_files or folders[rel] != said_folders:
                raise Unusable(f"{rel or 'the folder'} is not listed whole")
        return self.found


def relative_to(prefix: str, href: str) -> str:
    """HREF's path relative to the folder whose unquoted href is PREFIX ("" for itself);
    Unusable when it lies outside, or is a name rclone would show otherwise."""
    path = unquote(urlsplit(href).path)
    if path.rstrip("/") == prefix.rstrip("/"):
        return ""
    if not path.startswith(prefix):
        raise Unusable(href)
    relative = path[len(prefix) :].rstrip("/")
    if not _plain(relative):
        raise Unusable(relative)
    return relative


def found_props(element: Element) -> Element:
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


def parent(relative: str) -> str:
    return relative.rpartition("/")[0]


def whole_number(props: Element, tag: str) -> int:
    """PROPS' TAG as a count (Unusable when it is missing or negative)."""
    text = props.findtext(tag)
    try:
        value = int(text or "")
    except ValueError:
        raise Unusable(f"no {tag}") from None
    if value < 0:
        raise Unusable(f"{tag} {value}")
    return value


def http_time(text: str | None) -> float:
    """An HTTP date ("Tue, 01 Dec 2026 15:08:34 GMT") as seconds since the epoch."""
    try:
        when = parsedate_to_datetime(text or "")
    except (TypeError, ValueError):
        raise Unusable(f"no time: {text!r}") from None
    if when.tzinfo is None:
        raise Unusable(f"a time without its zone: {text!r}")
    return when.timestamp()
