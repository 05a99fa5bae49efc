"""The floor: the same files over the same Nextcloud APIs rcwiz uses, and nothing else.

    floor.py upload SERVER USER SRC DEST [--batch 100] [--parallel 3]
    floor.py download SERVER USER DIR DEST --entries A,B,... [--parallel 5]

The password comes from FLOOR_PASSWORD (never argv). `upload` makes the folders (MKCOL, a
level at a time) and sends every file of SRC by bulk upload (POST /remote.php/dav/bulk, BATCH
files per request, PARALLEL requests in flight); `download` fetches DIR's top-level entries
(ENTRIES: the benchmark made the data, it knows them) as archives (ajax/download.php, one
request per entry, PARALLEL at once) and writes them under DEST; an archive that comes cut
off or as no zip is asked for once more, as rcwiz does (the production-like server at times
cuts one off when several are in flight; a floor that failed there could not be timed). No
listing, no comparison, no progress, no other retry: the time a client cannot beat on that
server at that batching.
benchmarks/floor_speed.py runs it beside rcwiz and the peers and keeps its best batching.
Prints one JSON line: requests, files, bytes, refused (per-file errors). Exit 0, or 1 when a
file was refused (a failed request ends it with a message).
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import hashlib
import http.client
import io
import json
import os
import sys
import threading
import urllib.parse
import zipfile
from pathlib import Path

BOUNDARY = "floor-boundary-7f3a"
TIMEOUT = 600


class Server:
    """Basic-auth requests to one Nextcloud, a kept-alive connection per thread."""

    def __init__(self, url: str, user: str, password: str) -> None:
        self.url = urllib.parse.urlsplit(url)
        self.user = user
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.auth = {"Authorization": f"Basic {token}"}
        self.local = threading.local()

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        """(status, body); one reconnect when the server closed the kept-alive connection."""
        for attempt in range(2):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=TIMEOUT)
                self.local.conn = conn
            try:
                conn.request(method, path, body=body, headers={**self.auth, **(headers or {})})
                reply = conn.getresponse()
                data = reply.read()
                if reply.getheader("Connection", "").lower() == "close":
                    conn.close()
                    self.local.conn = None
                return reply.status, data
            except (ConnectionError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def dav(self, relative: str) -> str:
        return urllib.parse.quote(f"/remote.php/dav/files/{self.user}/{relative.strip('/')}")


def _bulk_body(root: Path, dest: str, names: list[str]) -> bytes:
    out = io.BytesIO()
    for name in names:
        path = root / name
        data = path.read_bytes()
        head = (
            f"--{BOUNDARY}\r\nX-File-Path: /{dest}/{name}\r\n"
            f"X-File-MD5: {hashlib.md5(data).hexdigest()}\r\n"
            f"X-File-Mtime: {int(path.stat().st_mtime)}\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        out.write(head.encode() + data + b"\r\n")
    out.write(f"--{BOUNDARY}--\r\n".encode())
    return out.getvalue()


def upload(server: Server, src: Path, dest: str, batch: int, parallel: int) -> dict[str, int]:
    """Every file under SRC to DEST by bulk upload."""
    names = sorted(p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file())
    folders = {dest.strip("/")}
    for name in names:
        parts = name.split("/")[:-1]
        folders |= {"/".join([dest.strip("/"), *parts[: i + 1]]) for i in range(len(parts))}
    requests = 0
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        for depth in sorted({f.count("/") for f in folders}):
            level = [f for f in folders if f.count("/") == depth]
            for status, _ in pool.map(lambda f: server.request("MKCOL", server.dav(f)), level):
                if status not in (201, 405):
                    raise SystemExit(f"MKCOL answered {status}")
            requests += len(level)
        groups = [names[i : i + batch] for i in range(0, len(names), batch)]
        headers = {"Content-Type": f"multipart/related; boundary={BOUNDARY}"}

        def post(group: list[str]) -> tuple[int, bytes]:
            body = _bulk_body(src, dest.strip("/"), group)
            return server.request("POST", "/remote.php/dav/bulk", body, headers)

        refused = 0
        for status, data in pool.map(post, groups):
            if status != 200:
                raise SystemExit(f"bulk upload answered {status}")
            refused += sum(1 for entry in json.loads(data).values() if entry.get("error"))
        requests += len(groups)
    size = sum((src / n).stat().st_size for n in names)
    return {"requests": requests, "files": len(names), "bytes": size, "refused": refused}


def download_entries(
    server: Server, folder: str, entries: list[str], dest: Path, parallel: int
) -> dict[str, int]:
    """ENTRIES of FOLDER as archives, one request each, PARALLEL at once, written under DEST."""
    dest.mkdir(parents=True, exist_ok=True)
    base = "/index.php/apps/files/ajax/download.php"
    asked_again: list[str] = []

    def fetch(entry: str) -> tuple[int, int]:
        query = urllib.parse.urlencode(
            {"dir": "/" + folder.strip("/"), "files": json.dumps([entry])}
        )
        for attempt in range(2):
            status, data = server.request("GET", f"{base}?{query}")
            if status == 200 and zipfile.is_zipfile(io.BytesIO(data)):
                break
            if attempt:
                raise SystemExit(f"archive download answered {status}, twice not a whole zip")
            asked_again.append(entry)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            files = 0
            for info in archive.infolist():
                if info.is_dir():
                    continue
                target = dest / info.filename
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(info))
                files += 1
        return files, len(data)

    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        done = list(pool.map(fetch, entries))
    requests = len(entries) + len(asked_again)
    return {"requests": requests, "files": sum(f for f, _ in done), "bytes": 0, "refused": 0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    up = sub.add_parser("upload")
    down = sub.add_parser("download")
    for p in (up, down):
        p.add_argument("server")
        p.add_argument("user")
    up.add_argument("src", type=Path)
    up.add_argument("dest")
    up.add_argument("--batch", type=int, default=100)
    up.add_argument("--parallel", type=int, default=3)
    down.add_argument("folder")
    down.add_argument("dest", type=Path)
    down.add_argument("--entries", required=True, help="comma-separated top-level names")
    down.add_argument("--parallel", type=int, default=5)
    args = parser.parse_args(argv)
    server = Server(args.server, args.user, os.environ["FLOOR_PASSWORD"])
    if args.what == "upload":
        result = upload(server, args.src, args.dest, args.batch, args.parallel)
    else:
        entries = args.entries.split(",")
        result = download_entries(server, args.folder, entries, args.dest, args.parallel)
    print(json.dumps(result))
    return 1 if result["refused"] else 0


if __name__ == "__main__":
    sys.exit(main())
