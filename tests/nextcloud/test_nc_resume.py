"""Resumable chunked uploads on the real Nextcloud 30: a run stopped after some chunks arrived
(Ctrl-C, SIGTERM, SIGHUP, SIGKILL, a hung server, a dead one, a 507) keeps its session, and
the next run sends only the chunks the server lacks; a changed source, a stale session and a
session the server lost start over, and no file is ever put together from two versions.

The stop comes at a known point: request_faults.RequestFaults lets K chunks through to the
real server and holds the rest (hung, held, or the proxy closed); the test waits for the
resume ledger to show K confirmed chunks, then stops rcwiz. The re-run goes through the same
proxy, healed, so the account (the server's address) is the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import MiB, big_file, same_bytes
from helpers import RCWIZ, assert_progress_counts_this_run, json_lines, rcwiz
from realnc import wait_for
from request_faults import HELD, RequestFaults

from rcwiz.nextcloud.chunked import chunk_size_for, chunks, session_name
from rcwiz.transfer.bulk import CHUNK, CHUNKS_IN_FLIGHT

SIZE = 40 * MiB + 12345
PIECE = chunk_size_for(SIZE, CHUNK, CHUNKS_IN_FLIGHT)
LENGTHS = {n: length for n, _, length in chunks(SIZE, PIECE)}
K = 3  # chunks that reach the server before the run is stopped


def ledger() -> list[dict]:
    folder = Path(os.environ["XDG_STATE_HOME"]) / "rcwiz" / "resume"
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue  # replaced while read
    return found


def confirmed() -> int:
    return max((len(r["chunks"]) for r in ledger()), default=0)


def uploads_of(requests, user) -> list[tuple[str, int, str]]:
    """(method, status, chunk or "") of the chunked-upload requests the server answered."""
    prefix = f"/remote.php/dav/uploads/{user.name}/"
    return [
        (r.method, r.status, r.path[len(prefix) :].partition("/")[2])
        for r in requests
        if r.path.startswith(prefix)
    ]


def put_chunks(requests, user) -> list[int]:
    """The chunks PUT with success, each once: 201, or 204 over a chunk already there. A 507
    run's chunks held by the proxy reach the server after it gave up on them (not in the
    ledger: sent again, 204), some only once the next run has started."""
    found = uploads_of(requests, user)
    return sorted({int(c) for m, st, c in found if m == "PUT" and st in (201, 204)})


@pytest.fixture
def proxied(nc_user, tmp_path, rclone_conf) -> Iterator[Callable[..., tuple]]:
    """proxied(fault) -> (proxy letting K chunks through, rclone.conf through it)."""
    made: list[RequestFaults] = []

    def make(fault: str, port: int = 0, after: int = K) -> tuple[RequestFaults, Path]:
        proxy = RequestFaults(nc_user.server.url, "chunk", fault, after=after, port=port)
        made.append(proxy.__enter__())
        url = f"{proxy.url}/remote.php/dav/files/{nc_user.name}/"
        return proxy, rclone_conf(tmp_path / "rclone.conf", {"nc": nc_user.remote(url=url)})

    yield make
    for proxy in made:
        proxy.__exit__()


def start(conf: Path, source: Path, *extra: str) -> subprocess.Popen:
    argv = [*RCWIZ, *extra, "--json", "--config", str(conf), "copy", str(source), "nc:dest"]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stopped_at_k(proc: subprocess.Popen, how: signal.Signals | None) -> tuple[int, str]:
    """Wait for K confirmed chunks in the ledger, then send HOW (None: wait for the end)."""
    try:
        wait_for(lambda: confirmed() >= K or proc.poll() is not None, 120, "K chunks confirmed")
        assert proc.poll() is None, proc.communicate()
        if how is not None:
            proc.send_signal(how)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err


def kept_session(user, source: Path) -> dict:
    """The one session kept for SOURCE: on the server with its K chunks, and in the ledger."""
    (record,) = ledger()
    assert record["source"] == os.path.abspath(source) and len(record["chunks"]) == K
    folder = user.uploads / record["session"]
    held = {int(p.name) for p in folder.iterdir() if p.name.isdigit()}
    assert {int(n) for n in record["chunks"]} <= held
    return record


def resumed_run(real_nextcloud, nc_user, conf: Path, source: Path) -> tuple[dict, list[int]]:
    """Run again; the file arrives whole, nothing is left; (summary, chunks PUT)."""
    mark = real_nextcloud.log_mark()
    done = rcwiz("--json", "--config", str(conf), "copy", str(source.parent), "nc:dest")
    assert done.returncode == 0, done.stderr
    assert same_bytes(source.parent, nc_user.files / "dest")
    stored = nc_user.files / "dest" / source.name
    assert int(stored.stat().st_mtime) == int(source.stat().st_mtime)
    assert list(nc_user.uploads.iterdir()) == [] and ledger() == []
    summary = json_lines(done.stdout)[-1]
    if summary["resumed_bytes"]:
        assert_progress_counts_this_run(done.stdout, SIZE)
    return summary, put_chunks(real_nextcloud.requests_since(mark), nc_user)


def assert_resumed(summary: dict, sent: list[int], record: dict) -> None:
    """The re-run sent only the chunks the session lacked, and counted the rest as resumed."""
    held = {int(n) for n in record["chunks"]}
    assert sent == sorted(set(LENGTHS) - held)
    resumed = sum(LENGTHS[n] for n in held)
    assert (summary["resumed_bytes"], summary["bytes"]) == (resumed, SIZE - resumed)
    assert (summary["files"], summary["chunked_files"]) == (1, 1)


def assert_started_over(summary: dict, sent: list[int]) -> None:
    assert summary["resumed_bytes"] == 0 and summary["bytes"] == SIZE
    assert sent[-len(LENGTHS) :] == sorted(LENGTHS) or sorted(set(sent)) == sorted(LENGTHS)


@pytest.mark.parametrize(
    "how", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL], ids=lambda s: s.name
)
def test_a_signalled_upload_resumes_from_the_chunks_the_server_holds(
    real_nextcloud, nc_user, proxied, tmp_path, how
):
    source = big_file(tmp_path / "src" / "big.bin", SIZE)
    proxy, conf = proxied("hung")
    code, err = stopped_at_k(start(conf, source.parent), how)
    assert code == (-9 if how == signal.SIGKILL else code) and code != 0
    assert "Traceback" not in err
    record = kept_session(nc_user, source)
    if how != signal.SIGKILL:
        assert "rcwiz keeps that for the next run" in err
        logs = sorted((Path(os.environ["XDG_STATE_HOME"]) / "rcwiz" / "logs").glob("*.jsonl"))
        entries = [json.loads(line) for line in logs[-1].read_text().splitlines()]
        kept = [e for e in entries if e.get("resume") == "kept"]
        assert [e["session"] for e in kept] == [record["session"]], entries
    proxy.heal()
    summary, sent = resumed_run(real_nextcloud, nc_user, conf, source)
    assert_resumed(summary, sent, record)


def test_a_kept_session_is_listed_with_its_file_and_kept_by_uploads_rm(
    real_nextcloud, nc_user, proxied, tmp_path
):
    source = big_file(tmp_path / "src" / "big.bin", SIZE)
    proxy, conf = proxied("hung")
    stopped_at_k(start(conf, source.parent), signal.SIGKILL)
    record = kept_session(nc_user, source)
    listed = rcwiz("--json", "--config", str(conf), "uploads", "list", "nc:")
    assert listed.returncode == 0, listed.stderr
    (session,) = json.loads(listed.stdout)["sessions"]
    assert session["name"] == record["session"] == session_name("dest/big.bin")
    assert session["resumes"] == os.path.abspath(source)
    assert session["kept"] == f"kept to resume the upload of {os.path.abspath(source)}"
    rm = rcwiz("--json", "--config", str(conf), "uploads", "rm", "nc:", "--yes")
    assert rm.returncode == 0, rm.stderr
    assert json.loads(rm.stdout)["removed"] == [] and ledger()
    proxy.heal()
    summary, sent = resumed_run(real_nextcloud, nc_user, conf, source)
    assert_resumed(summary, sent, record)


def test_a_hung_server_keeps_the_session_and_the_next_run_resumes(
    real_nextcloud, nc_user, proxied, tmp_path
):
    source = big_file(tmp_path / "src" / "big.bin", SIZE)
    proxy, conf = proxied("hung")
    code, err = stopped_at_k(start(conf, source.parent, "--stall-timeout", "3"), None)
    assert code == 6, err
    record = kept_session(nc_user, source)
    proxy.heal()
    summary, sent = resumed_run(real_nextcloud, nc_user, conf, source)
    assert_resumed(summary, sent, record)


def test_a_server_that_dies_keeps_the_session_and_the_next_run_resumes(
    real_nextcloud, nc_user, proxied, tmp_path
):
    source = big_file(tmp_path / "src" / "big.bin", SIZE)
    proxy, conf = proxied("hung")
    proc = start(conf, source.parent, "--stall-timeout", "5")
    try:
        wait_for(lambda: confirmed() >= K, 120, "K chunks confirmed")
        proxy.__exit__()  # the server goes away: chunks in flight cut, nothing answers
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 6 and "Traceback" not in err, err
    # The run stops there: rclone is not handed the file (it sent it from byte 0 when it
    # could, and failed to reach the server when it could not), and the warning comes after
    # the summary, where the live display cannot cut it.
    assert json_lines(out)[-1]["rclone_ran"] is False, out
    assert "rclone will send it" not in err and "keeps that for the next run" in err, err
    record = kept_session(nc_user, source)
    port = int(proxy.url.rsplit(":", 1)[1])
    back, _ = proxied("hung", port=port, after=10**6)  # the server is back, at the same address
    summary, sent = resumed_run(real_nextcloud, nc_user, conf, source)
    assert_resumed(summary, sent, record)
    assert back.passed == len(sent) + 1  # those chunks and the MOVE


def test_a_507_keeps_the_session_and_the_next_run_resumes(
    real_nextcloud, nc_user, proxied, tmp_path
):
    source = big_file(tmp_path / "src" / "big.bin", SIZE)
    proxy, conf = proxied(HELD)
    proc = start(conf, source.parent)
    try:
        wait_for(lambda: confirmed() >= K, 120, "K chunks confirmed")
        nc_user.set_quota("20 MB")  # the rest of the file no longer fits
        proxy.let_go.set()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 5, err
    assert json_lines(out)[-1]["outcome"] == "failed"
    record = kept_session(nc_user, source)
    nc_user.set_quota("1 GB")
    proxy.heal()
    summary, sent = resumed_run(real_nextcloud, nc_user, conf, source)
    assert_resumed(summary, sent, record)


def _interrupted(nc_user, proxied, tmp_path) -> tuple[RequestFaults, Path, Path, dict]:
    source = big_file(tmp_path / "src" / "big.bin", SIZE)
    proxy, conf = proxied("hung")
    stopped_at_k(start(conf, source.parent), signal.SIGKILL)
    record = kept_session(nc_user, source)
    proxy.heal()
    return proxy, conf, source, record


@pytest.mark.parametrize("change", ["bytes", "size"])
def test_a_changed_source_is_never_put_together_with_the_old_chunks(
    real_nextcloud, nc_user, proxied, tmp_path, change
):
    _, conf, source, record = _interrupted(nc_user, proxied, tmp_path)
    stamp = source.stat().st_mtime_ns
    if change == "bytes":  # same size and time, other bytes: only the hashes can tell
        big_file(source, SIZE)
    else:
        with open(source, "ab") as handle:
            handle.write(b"more")
    os.utime(source, ns=(stamp, stamp))
    mark = real_nextcloud.log_mark()
    summary, sent = resumed_run(real_nextcloud, nc_user, conf, source)
    assert summary["resumed_bytes"] == 0 and summary["bytes"] == source.stat().st_size
    seen = uploads_of(real_nextcloud.requests_since(mark), nc_user)
    assert ("DELETE", 204, "") in seen  # the old session discarded on the server
    stored = nc_user.files / "dest" / "big.bin"
    assert hashlib.sha1(stored.read_bytes()).digest() == hashlib.sha1(source.read_bytes()).digest()
    if change == "size":  # caught before a chunk was sent
        assert sent == sorted(n for n, _, _ in chunks(SIZE + 4, record["chunk"]))


def test_a_stale_session_is_discarded_and_the_upload_starts_over(
    real_nextcloud, nc_user, proxied, tmp_path
):
    _, conf, source, record = _interrupted(nc_user, proxied, tmp_path)
    (path,) = (Path(os.environ["XDG_STATE_HOME"]) / "rcwiz" / "resume").glob("*.json")
    record["created"] = time.time() - 2 * 86400  # older than Nextcloud keeps sessions
    path.write_text(json.dumps(record))
    mark = real_nextcloud.log_mark()
    summary, sent = resumed_run(real_nextcloud, nc_user, conf, source)
    assert ("DELETE", 204, "") in uploads_of(real_nextcloud.requests_since(mark), nc_user)
    assert_started_over(summary, sent)
    assert sent == sorted(LENGTHS)


def test_a_session_the_server_lost_starts_over(real_nextcloud, nc_user, proxied, tmp_path):
    _, conf, source, record = _interrupted(nc_user, proxied, tmp_path)
    url = f"{nc_user.server.url}/remote.php/dav/uploads/{nc_user.name}/{record['session']}/"
    auth = (nc_user.name, nc_user.password)
    status, _ = nc_user.server.http("DELETE", url, None, None, auth=auth)
    assert status == 204
    summary, sent = resumed_run(real_nextcloud, nc_user, conf, source)
    assert_started_over(summary, sent)
    assert sent == sorted(LENGTHS)


def test_a_session_whose_file_arrived_another_way_is_removed_by_the_next_run(
    real_nextcloud, nc_user, proxied, tmp_path
):
    _, conf, source, record = _interrupted(nc_user, proxied, tmp_path)
    mtime = str(int(source.stat().st_mtime))
    status, _ = nc_user.dav("PUT", "dest/big.bin", source.read_bytes(), {"X-OC-Mtime": mtime})
    assert status == 201  # sent whole by another client, its time kept
    os.utime(source, (int(mtime), int(mtime)))  # what the server keeps: whole seconds
    mark = real_nextcloud.log_mark()
    done = rcwiz("--json", "--config", str(conf), "copy", str(source.parent), "nc:dest")
    assert done.returncode == 0, done.stderr
    assert json_lines(done.stdout)[-1]["files"] == 0  # up to date: nothing sent
    seen = uploads_of(real_nextcloud.requests_since(mark), nc_user)
    assert seen == [("DELETE", 204, "")]  # only the kept session, removed
    assert list(nc_user.uploads.iterdir()) == [] and ledger() == []
    assert record["session"] == session_name("dest/big.bin")


def test_a_single_file_named_as_the_source_resumes_after_ctrl_c(
    real_nextcloud, nc_user, proxied, tmp_path
):
    """`rcwiz copy FILE nc:dest` takes the chunked fast path as its folder would. Before the fix
    rclone sent it: Ctrl-C left no session (rcwiz removed rclone's) and the next run sent the
    whole file again."""
    source = big_file(tmp_path / "src" / "big.bin", SIZE)
    proxy, conf = proxied("hung")
    code, err = stopped_at_k(start(conf, source), signal.SIGINT)  # the file, not its folder
    assert code == 130 and "rcwiz keeps that for the next run" in err, err
    assert "Run the same command again to resume" in err, err  # rcwiz's own resumable path
    record = kept_session(nc_user, source)
    proxy.heal()
    mark = real_nextcloud.log_mark()
    done = rcwiz("--json", "--config", str(conf), "copy", str(source), "nc:dest")
    assert done.returncode == 0, done.stderr
    assert (nc_user.files / "dest" / "big.bin").read_bytes() == source.read_bytes()
    assert list(nc_user.uploads.iterdir()) == [] and ledger() == []
    summary = json_lines(done.stdout)[-1]
    assert_resumed(summary, put_chunks(real_nextcloud.requests_since(mark), nc_user), record)
