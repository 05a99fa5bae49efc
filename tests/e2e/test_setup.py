"""`rcwiz setup` driven as a user would: through a pseudo-terminal and through flags."""

from __future__ import annotations

import stat
import subprocess
import sys
import threading

import pexpect
import psutil
import pytest
from helpers import RCWIZ, rcwiz

DOWN = "\x1b[B"
OTHERS = """# remotes that belong to somebody else
[archive]
type = local

[colleague]
type = webdav
url = https://dav.example.org/
vendor = other
user = colleague
pass = c29tZS1vYnNjdXJlZC12YWx1ZQ

"""


@pytest.fixture
def server(quota_server_factory):
    return quota_server_factory(quota=10 * 2**20)


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / "rclone.conf"
    path.write_text(OTHERS)
    path.chmod(0o644)  # setup must leave it at 0600 anyway
    return path


def flags_setup(conf, server, password, *extra, name="t"):
    return rcwiz(
        "--config",
        str(conf),
        "setup",
        "--preset",
        "webdav",
        "--url",
        server.url,
        "--user",
        server.user,
        "--password-stdin",
        "--name",
        name,
        "--yes",
        *extra,
        input=password + "\n",
    )


def rclone_lsd(rclone_bin, conf, remote):
    return subprocess.run(
        [str(rclone_bin), "--config", str(conf), "lsd", remote],
        capture_output=True,
        text=True,
        check=False,
    )


def test_flags_create_a_working_remote_and_keep_the_others(conf, server, rclone_bin):
    done = flags_setup(conf, server, server.password)
    assert done.returncode == 0, done.stderr
    (server.root / "projects").mkdir()
    listed = rclone_lsd(rclone_bin, conf, "t:")
    assert listed.returncode == 0 and "projects" in listed.stdout
    text = conf.read_text()
    assert text.startswith(OTHERS)  # every byte of the other remotes is unchanged
    assert "[t]\ntype = webdav\nurl = " + server.url in text
    assert server.password not in text
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    backup = conf.with_name("rclone.conf.bak")
    assert backup.read_text() == OTHERS
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert not conf.with_name("rclone.conf.lock").exists()  # removed once written


def test_wrong_password_exits_with_authentication_and_changes_nothing(conf, server):
    before = conf.read_bytes()
    done = flags_setup(conf, server, "not-the-password")
    assert done.returncode == 4
    assert "refused the user name or password" in done.stderr
    assert "Traceback" not in done.stderr
    assert conf.read_bytes() == before
    assert not conf.with_name("rclone.conf.bak").exists()


def test_dead_server_and_wrong_url_are_named(conf, server, dead_url):
    before = conf.read_bytes()
    dead = rcwiz(
        "--config",
        str(conf),
        "setup",
        "--preset",
        "webdav",
        "--url",
        dead_url,
        "--user",
        "u",
        "--password-stdin",
        "--name",
        "d",
        "--yes",
        input="pw\n",
    )
    assert dead.returncode == 6 and "could not be reached" in dead.stderr
    missing = rcwiz(
        "--config",
        str(conf),
        "setup",
        "--preset",
        "webdav",
        "--url",
        server.url + "no/such/folder/",
        "--user",
        server.user,
        "--password-stdin",
        "--name",
        "m",
        "--yes",
        input=server.password + "\n",
    )
    assert missing.returncode == 3 and "no WebDAV folder" in missing.stderr
    assert conf.read_bytes() == before


def test_alliance_preset_builds_the_nextcloud_url_without_network(conf):
    done = rcwiz(
        "--config",
        str(conf),
        "setup",
        "--preset",
        "alliance",
        "--user",
        "jdoe",
        "--password-stdin",
        "--name",
        "nextcloud",
        "--yes",
        "--no-verify",
        input="pw\n",
    )
    assert done.returncode == 0, done.stderr
    section = conf.read_text()[len(OTHERS) :]
    assert "vendor = nextcloud\n" in section
    assert "url = https://nextcloud.computecanada.ca/remote.php/dav/files/jdoe/\n" in section
    assert "pass = " in section and "pass = pw\n" not in section
    assert "Not verified" in done.stdout
    assert "Globus" in done.stdout


def test_a_pasted_legacy_url_is_corrected_with_one_line(conf):
    done = rcwiz(
        "--config",
        str(conf),
        "setup",
        "--preset",
        "nextcloud",
        "--url",
        "https://cloud.example.org/remote.php/webdav/",
        "--user",
        "bob",
        "--password-stdin",
        "--name",
        "nc",
        "--yes",
        "--no-verify",
        input="pw\n",
    )
    assert done.returncode == 0, done.stderr
    assert "url = https://cloud.example.org/remote.php/dav/files/bob/\n" in conf.read_text()
    assert "legacy" in done.stdout


def test_app_password_that_looks_like_base64_is_still_obscured(conf, rclone_bin):
    app_password = "aB3dE5fG7hJ9kL1mN3pQ5rS7tU"  # 26 base64url characters
    done = rcwiz(
        "--config",
        str(conf),
        "setup",
        "--preset",
        "nextcloud",
        "--server",
        "https://cloud.example.org",
        "--user",
        "bob",
        "--password-stdin",
        "--name",
        "nc",
        "--yes",
        "--no-verify",
        input=app_password + "\n",
    )
    assert done.returncode == 0, done.stderr
    stored = next(
        line for line in conf.read_text().splitlines()[::-1] if line.startswith("pass = ")
    ).split(" = ")[1]
    assert stored != app_password
    revealed = subprocess.run(
        [str(rclone_bin), "reveal", "--", stored], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert revealed == app_password


def test_missing_answer_without_terminal_names_its_flag(conf):
    before = conf.read_bytes()
    done = rcwiz(
        "--config",
        str(conf),
        "setup",
        "--preset",
        "webdav",
        "--url",
        "http://127.0.0.1:9/",
        "--vendor",
        "other",
        "--name",
        "x",
        "--password-stdin",
        input="pw\n",
    )
    assert done.returncode == 2
    assert "--user" in done.stderr and "Traceback" not in done.stderr
    no_name = rcwiz("--config", str(conf), "setup", "--preset", "webdav", input="")
    assert no_name.returncode == 2 and "--name" in no_name.stderr and "--yes" in no_name.stderr
    assert conf.read_bytes() == before


def test_existing_name_needs_replace(conf, server):
    taken = flags_setup(conf, server, server.password, name="colleague")
    assert taken.returncode == 2 and "already exists" in taken.stderr
    assert conf.read_text() == OTHERS
    replaced = flags_setup(conf, server, server.password, "--replace", name="colleague")
    assert replaced.returncode == 0, replaced.stderr
    text = conf.read_text()
    assert text.startswith("# remotes that belong to somebody else\n[archive]\ntype = local\n")
    assert "user = colleague" not in text and f"url = {server.url}" in text
    assert conf.with_name("rclone.conf.bak").read_text() == OTHERS


def test_encrypted_config_is_refused_and_untouched(conf, rclone_bin):
    subprocess.run(
        [
            str(rclone_bin),
            "--config",
            str(conf),
            "config",
            "encryption",
            "set",
            "--password-command",
            "printf %s cfgpw",
        ],
        check=True,
        capture_output=True,
    )
    before = conf.read_bytes()
    done = rcwiz(
        "--config",
        str(conf),
        "setup",
        "--preset",
        "alliance",
        "--user",
        "jdoe",
        "--password-stdin",
        "--name",
        "nc",
        "--yes",
        "--no-verify",
        input="pw\n",
        env={"RCLONE_CONFIG_PASS": "cfgpw"},
    )
    assert done.returncode == 8 and "encrypted" in done.stderr
    assert conf.read_bytes() == before


def test_password_never_appears_in_any_process_argv(conf, quota_server_factory):
    slow = quota_server_factory(quota=10 * 2**20, delay=0.4)  # keeps each rclone alive longer
    seen_rclone = []
    leaks = []
    finished = threading.Event()

    def sample():
        while not finished.is_set():
            for proc in psutil.process_iter(["name", "cmdline"]):
                cmdline = proc.info["cmdline"] or []
                if any(slow.password in arg for arg in cmdline):
                    leaks.append(cmdline)
                if proc.info["name"] == "rclone" and str(conf) in " ".join(cmdline):
                    seen_rclone.append(cmdline)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        done = rcwiz(
            "--debug",
            "--config",
            str(conf),
            "setup",
            "--preset",
            "webdav",
            "--url",
            slow.url,
            "--user",
            slow.user,
            "--password-stdin",
            "--name",
            "s",
            "--yes",
            input=slow.password + "\n",
        )
    finally:
        finished.set()
        sampler.join()
    assert done.returncode == 0, done.stderr
    assert seen_rclone, "the sampler never saw rclone running, so it proves nothing"
    assert not leaks
    assert slow.password not in done.stdout + done.stderr  # --debug logs every command
    assert "lsjson" in done.stderr and ":webdav:" in done.stderr  # the check ran, logged


def spawn_wizard(conf):
    return pexpect.spawn(
        RCWIZ[0],
        [*RCWIZ[1:], "--config", str(conf), "setup"],
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 140),
    )


def test_wizard_end_to_end_in_a_terminal(conf, server, rclone_bin):
    child = spawn_wizard(conf)
    child.expect("Which service")
    child.send(DOWN + DOWN + "\r")  # Any WebDAV server
    child.expect("Name of the remote")
    child.send("\x15mydav\r")  # Ctrl-U clears the suggested name
    child.expect("WebDAV URL")
    child.send(server.url + "\r")
    child.expect("Server software")
    child.send("\r")  # other
    child.expect("User name")
    child.send(server.user + "\r")
    child.expect("Password or app password")
    child.send("a-wrong-password\r")
    child.expect("refused the user name or password")
    child.expect("What now")
    child.send("\r")  # enter the password again
    child.expect("Password or app password")
    child.send(server.password + "\r")
    child.expect("Saved")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert server.password not in child.before
    listed = rclone_lsd(rclone_bin, conf, "mydav:")
    assert listed.returncode == 0, listed.stderr
    assert conf.read_text().startswith(OTHERS)


@pytest.mark.parametrize(("key", "code"), [("\x03", 130), ("\x15\x04", 2)])
def test_ctrl_c_or_end_of_input_at_a_question_leaves_the_config_alone(conf, key, code):
    before = conf.read_bytes()
    child = spawn_wizard(conf)
    child.expect("Which service")
    child.send("\r")
    child.expect("Name of the remote")
    child.send(key)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == code
    assert "Traceback" not in child.before
    assert conf.read_bytes() == before
    if code == 130:  # a choice, said as a note (README, exit codes), not an error
        assert "Cancelled at 'Name of the remote'." in child.before, child.before
        assert "error:" not in child.before


def test_two_setups_at_once_both_land(conf, server):
    procs = [
        subprocess.Popen(
            [
                *RCWIZ,
                "--config",
                str(conf),
                "setup",
                "--preset",
                "webdav",
                "--url",
                server.url,
                "--user",
                server.user,
                "--password-stdin",
                "--name",
                name,
                "--yes",
            ],
            stdin=subprocess.PIPE,
            text=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for name in ("one", "two")
    ]
    for proc in procs:
        proc.stdin.write(server.password + "\n")
        proc.stdin.close()
    assert [proc.wait(timeout=60) for proc in procs] == [0, 0]
    text = conf.read_text()
    assert text.startswith(OTHERS) and "[one]\n" in text and "[two]\n" in text


def test_module_and_script_share_the_entry_point():
    script = subprocess.run([*RCWIZ, "--version"], capture_output=True, text=True, check=True)
    module = subprocess.run(
        [sys.executable, "-m", "rcwiz", "--version"], capture_output=True, text=True, check=True
    )
    assert RCWIZ[0].endswith("/rcwiz") and script.stdout == module.stdout != ""
