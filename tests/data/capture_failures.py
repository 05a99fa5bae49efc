#!/usr/bin/env python3
"""Capture real rclone failures (`--use-json-log` stderr) and the error each must become.

    .venv/bin/python tests/data/capture_failures.py            # every scenario
    .venv/bin/python tests/data/capture_failures.py nc_507     # some

For each scenario it writes `tests/data/rclone/NAME.jsonl` (rclone's stderr, unchanged) and
`NAME.meta.json` with the password-free argv, the exit code and `classified`: the rcwiz.errors
class tests/unit/rclone/test_classify.py expects rcwiz.rclone.classify to name. The failures
happen for real, on loopback: a real Nextcloud 30 from ../shared/nextcloud (serve.sh) for the
401, the 507 and missing folders; a port nobody listens on; a server stopped with SIGSTOP; an
`:http:` remote (no about); broken and encrypted rclone.conf files. Secrets reach rclone only
through the environment.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from base64 import b64encode
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent / "rclone" / "failures"
SERVE = Path(__file__).resolve().parents[3] / "shared" / "nextcloud" / "serve.sh"
RCLONE = str(Path(sys.executable).with_name("rclone"))
LOG = ("--stats", "500ms", "--stats-log-level", "NOTICE", "-v")
FAST = ("--retries", "1", "--low-level-retries", "1")


def env(**extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RCLONE_")}
    return {**clean, "RCLONE_CONFIG": "/nonexistent/rclone.conf", **extra}


def obscure(secret: str) -> str:
    done = subprocess.run(
        [RCLONE, "obscure", "-"],
        input=secret,
        capture_output=True,
        text=True,
        check=True,
        env=env(),
    )
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ocs(base: str, method: str, path: str, data: dict[str, str]) -> None:
    token = b64encode(b"admin:ncadmin-Pass1").decode()
    request = urllib.request.Request(
        f"{base}{path}?format=json",
        data=urllib.parse.urlencode(data).encode(),
        method=method,
        headers={"OCS-APIRequest": "true", "Authorization": f"Basic {token}"},
    )
    urllib.request.urlopen(request, timeout=60).read()


def webdav_env(url: str, user: str, password: str) -> dict[str, str]:
    return {
        "RCLONE_WEBDAV_URL": url,
        "RCLONE_WEBDAV_VENDOR": "nextcloud",
        "RCLONE_WEBDAV_USER": user,
        "RCLONE_WEBDAV_PASS": obscure(password),
    }


def capture(
    name: str,
    description: str,
    argv: list[str],
    classified: str,
    extra_env: dict,
    cwd: Path,
    *,
    timeout: float = 120,
) -> None:
    full = [RCLONE, "--ask-password=false", "--use-json-log", *argv]  # as rcwiz runs it
    done = subprocess.run(
        full,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env(**extra_env),
        cwd=cwd,
    )
    (OUT_DIR / f"{name}.jsonl").write_text(done.stderr)
    meta = {
        "scenario": name,
        "description": description,
        "argv": ["rclone", *full[1:]],
        "exit_code": done.returncode,
        "classified": classified,
    }
    (OUT_DIR / f"{name}.meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"{name}: exit {done.returncode}, {len(done.stderr.splitlines())} lines")


def main(wanted: list[str]) -> None:
    work = Path(tempfile.mkdtemp(prefix="rcwiz-capture-"))
    nc = work / "nc"
    port = free_port()
    base = subprocess.run(
        [str(SERVE), str(nc), str(port)], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        user, password = f"cap{secrets.token_hex(3)}", f"Pw-{secrets.token_hex(8)}!"
        ocs(
            base,
            "POST",
            "/ocs/v2.php/cloud/users",
            {"userid": user, "password": password, "quota": "5 MB"},
        )
        dav = f"{base}/remote.php/dav/files/{user}/"
        good = webdav_env(dav, user, password)
        src = work / "src"
        src.mkdir()
        for i in range(6):
            (src / f"part-{i}.bin").write_bytes(os.urandom(2 * 1000 * 1000))
        dead = free_port()
        broken = work / "broken.conf"
        broken.write_text("[nc]\ntype = webdav\nurl = http://127.0.0.1/\n[[[ not ini\n\x00\n")
        encrypted = work / "encrypted.conf"
        encrypted.write_text(
            "# Encrypted rclone configuration File\n\nRCLONE_ENCRYPT_V0:\n"
            "c2VjcmV0IHN0dWZmIHRoYXQgaXMgbm90IHJlYWxseSBlbmNyeXB0ZWQ=\n"
        )
        scenarios = {
            "nc_507": (
                "copy over a 5 MB quota on a real Nextcloud 30 (507)",
                ["copy", str(src), ":webdav:quota", "--transfers", "1", *LOG, *FAST],
                "QuotaExceeded",
                good,
            ),
            "nc_401": (
                "about with a wrong password on a real Nextcloud 30 (401)",
                ["about", ":webdav:", "--json", *FAST],
                "AuthenticationFailed",
                webdav_env(dav, user, "wrong-password"),
            ),
            "nc_missing_source": (
                "copy from a folder the Nextcloud does not have",
                ["copy", ":webdav:no/such/folder", str(work / "down"), *LOG, *FAST],
                "DirectoryNotFound",
                good,
            ),
            "local_missing_source": (
                "copy from a local folder that does not exist",
                ["copy", str(work / "nonexist"), ":webdav:x", *LOG, *FAST],
                "DirectoryNotFound",
                good,
            ),
            "refused": (
                "about on a port nobody listens on",
                ["about", ":webdav:", "--json", "--contimeout", "2s", *FAST],
                "ServerUnreachable",
                webdav_env(f"http://127.0.0.1:{dead}/remote.php/dav/files/{user}/", user, password),
            ),
            "http_no_about": (
                "about on an :http: remote, which cannot report space",
                ["about", ":http:", "--json", "--http-url", base],
                "AboutUnsupported",
                {},
            ),
            "unknown_remote": (
                "about on a remote rclone.conf does not have",
                ["about", "nosuchremote:", "--json"],
                "RemoteNotFound",
                {},
            ),
            "broken_config": (
                "a damaged rclone.conf",
                ["--config", str(broken), "about", "nc:", "--json"],
                "ConfigError",
                {},
            ),
            "encrypted_config": (
                "an encrypted rclone.conf and no RCLONE_CONFIG_PASS",
                ["--config", str(encrypted), "about", "nc:", "--json"],
                "ConfigError",
                {},
            ),
        }
        for name, (description, argv, classified, extra) in scenarios.items():
            if not wanted or name in wanted:
                capture(name, description, argv, classified, extra, work)
        if not wanted or "hung" in wanted:
            _hung(work, base, user, password)
    finally:
        subprocess.run([str(SERVE), "--stop", str(nc)], capture_output=True, check=False)


def _hung(work: Path, base: str, user: str, password: str) -> None:
    """A server that accepts connections and never answers (the php -S group stopped)."""
    pid = int((work / "nc" / "php.pid").read_text())
    os.killpg(pid, signal.SIGSTOP)
    try:
        capture(
            "hung",
            "about against a server stopped with SIGSTOP, --timeout 3s",
            ["about", ":webdav:", "--json", "--contimeout", "3s", "--timeout", "3s", *FAST],
            "ServerUnreachable",
            webdav_env(f"{base}/remote.php/dav/files/{user}/", user, password),
            work,
        )
    finally:
        os.killpg(pid, signal.SIGCONT)


if __name__ == "__main__":
    main(sys.argv[1:])
