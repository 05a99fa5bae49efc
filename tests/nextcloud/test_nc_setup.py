"""`rcwiz setup`, `remotes` and `doctor` against the real Nextcloud 30."""

from __future__ import annotations

import subprocess

import pexpect
from helpers import RCWIZ, json_result, rcwiz

from rcwiz.rclone.obscure import reveal

DOWN = "\x1b[B"


DOWN = "\x1b[B"


def rclone_lsd(rclone_bin, conf, remote="nc:"):
    return subprocess.run(
        [str(rclone_bin), "--config", str(conf), "lsd", remote],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def stored_password(conf, name="nc"):
    lines = conf.read_text().split(f"[{name}]\n", 1)[1].split("\n\n")[0].splitlines()
    return reveal(next(line.split(" = ", 1)[1] for line in lines if line.startswith("pass = ")))


def login_flow_setup(server, user, conf):
    """`rcwiz setup --login-flow` as its own process, with USER granting the link it prints
    (in a browser, for a person); the finished process (stdout holds what came after the link)."""
    argv = [*RCWIZ, "--config", str(conf), "setup", "--preset", "nextcloud"]
    argv += ["--server", server.url, "--login-flow", "--name", "nc", "--yes"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        login_url = next((line.strip() for line in proc.stdout if "/login/v2/flow/" in line), None)
        assert login_url is not None, proc.stderr.read() if proc.stderr else ""
        assert login_url.startswith(f"{server.url}/index.php/login/v2/flow/")
        server.approve(login_url, user)
        out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def test_setup_by_password_saves_a_remote_that_plain_rclone_uses(
    real_nextcloud, nc_user, tmp_path, rclone_bin
):
    conf = tmp_path / "rclone.conf"
    done = rcwiz(
        "--config",
        str(conf),
        "setup",
        "--preset",
        "nextcloud",
        "--server",
        real_nextcloud.url,
        "--user",
        nc_user.name,
        "--password-stdin",
        "--name",
        "nc",
        "--yes",
        input=nc_user.password + "\n",
    )
    assert done.returncode == 0, done.stderr
    assert "quota     0 B used of 1.0 GiB" in done.stdout
    text = conf.read_text()
    assert f"url = {nc_user.dav_url}\n" in text and "vendor = nextcloud\n" in text
    assert nc_user.password not in text and stored_password(conf) == nc_user.password
    assert nc_user.dav("MKCOL", "projects")[0] == 201
    listed = rclone_lsd(rclone_bin, conf)
    assert listed.returncode == 0 and "projects" in listed.stdout, listed.stderr


def test_setup_with_a_wrong_password_saves_nothing(real_nextcloud, nc_user, tmp_path):
    conf = tmp_path / "rclone.conf"
    done = rcwiz(
        "--config",
        str(conf),
        "setup",
        "--preset",
        "nextcloud",
        "--server",
        real_nextcloud.url,
        "--user",
        nc_user.name,
        "--password-stdin",
        "--name",
        "nc",
        "--yes",
        input="not-the-password\n",
    )
    assert done.returncode == 4, done.stderr
    assert "refused the user name or password" in done.stderr and "Traceback" not in done.stderr
    hint = next(line for line in done.stderr.splitlines() if line.startswith("hint:"))
    assert "Nothing was saved" in hint and "--replace" not in hint  # there is nothing to replace
    assert not conf.exists()


def test_setup_with_a_bare_host_tries_https_then_http(real_nextcloud, nc_user, tmp_path):
    conf = tmp_path / "rclone.conf"
    bare = real_nextcloud.url.removeprefix("http://")  # 127.0.0.1:PORT, as people type it
    done = rcwiz(
        "--config",
        str(conf),
        "setup",
        "--preset",
        "nextcloud",
        "--server",
        bare,
        "--user",
        nc_user.name,
        "--password-stdin",
        "--name",
        "nc",
        "--yes",
        input=nc_user.password + "\n",
    )
    assert done.returncode == 0, done.stderr
    assert f"trying https://{bare}" in done.stdout and "trying http://" in done.stdout
    assert f"url = {nc_user.dav_url}\n" in conf.read_text()


def test_setup_with_a_bare_host_nobody_answers_on_is_one_sentence(tmp_path, dead_url):
    conf = tmp_path / "rclone.conf"
    bare = dead_url.removeprefix("http://").rstrip("/")
    done = rcwiz(
        "--config",
        str(conf),
        "setup",
        "--preset",
        "nextcloud",
        "--server",
        bare,
        "--user",
        "u",
        "--password-stdin",
        "--name",
        "nc",
        "--yes",
        input="pw\n",
    )
    assert done.returncode == 6, done.stderr
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert error.endswith(
        "could not be reached (http://" + bare + "/remote.php/dav/files/u/): "
        "the connection was refused."
    )
    assert "Propfind" not in done.stderr and "dial tcp" not in done.stderr
    assert not conf.exists()


def test_setup_by_login_flow_gets_an_app_password_that_works(
    real_nextcloud, nc_user, tmp_path, rclone_bin
):
    conf = tmp_path / "rclone.conf"
    done = login_flow_setup(real_nextcloud, nc_user, conf)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"Signed in as {nc_user.name}" in out
    app_password = stored_password(conf)
    assert app_password != nc_user.password and len(app_password) > 20
    text = conf.read_text()
    assert f"url = {nc_user.dav_url}\n" in text and f"user = {nc_user.name}\n" in text
    listed = rclone_lsd(rclone_bin, conf)
    assert listed.returncode == 0, listed.stderr
    # The app password is a real one: the server lists it among the user's devices.
    status, _ = nc_user.server.http(
        "PROPFIND", nc_user.dav_url, auth=(nc_user.name, app_password), headers={"Depth": "0"}
    )
    assert status == 207


def test_login_flow_remove_with_revoke_kills_the_app_password(real_nextcloud, nc_user, tmp_path):
    conf = tmp_path / "rclone.conf"
    assert login_flow_setup(real_nextcloud, nc_user, conf).returncode == 0
    app_password = stored_password(conf)
    removed = rcwiz("--config", str(conf), "remotes", "rm", "nc", "--revoke")
    assert removed.returncode == 0, removed.stderr
    assert "[nc]" not in conf.read_text() and "was revoked" in removed.stdout
    status, _ = nc_user.server.http(
        "PROPFIND", nc_user.dav_url, auth=(nc_user.name, app_password), headers={"Depth": "0"}
    )
    assert status == 401


def test_remotes_lists_the_nextcloud_remote_without_its_password(nc_user, nc_remote):
    done = rcwiz("--json", "--config", str(nc_remote), "remotes")
    assert done.returncode == 0, done.stderr
    (remote,) = json_result(done.stdout, "remotes")["remotes"]
    assert remote["name"] == "nc" and remote["vendor"] == "nextcloud"
    assert remote["url"] == nc_user.dav_url and remote["user"] == nc_user.name
    assert nc_user.password not in done.stdout


def test_doctor_passes_a_good_remote_and_names_a_wrong_app_password(nc_user, tmp_path, rclone_conf):
    conf = rclone_conf(
        tmp_path / "rclone.conf",
        {
            "nc": nc_user.remote(),
            "typo": nc_user.remote(password="wrong-app-pass!"),
        },
    )
    done = rcwiz("--json", "--config", str(conf), "doctor")
    assert done.returncode == 1, done.stderr
    checks = {c["check"]: c for c in json_result(done.stdout, "doctor")["checks"]}
    assert checks["nc: reachable"]["status"] == "ok"
    assert checks["nc: authenticated"]["status"] == "ok"
    assert checks["nc: quota"]["status"] == "ok" and "1.0 GiB" in checks["nc: quota"]["detail"]
    assert checks["nc: clock"]["status"] == "ok"
    assert checks["typo: authenticated"]["status"] == "fail"
    assert "--replace --name typo" in checks["typo: authenticated"]["hint"]
    assert "wrong-app-pass!" not in done.stdout + done.stderr


def test_setup_wizard_offers_the_browser_login_first_and_prints_the_link_alone(
    real_nextcloud, nc_user, tmp_path, rclone_bin
):
    conf = tmp_path / "rclone.conf"
    child = pexpect.spawn(
        RCWIZ[0],
        [*RCWIZ[1:], "--config", str(conf), "setup"],
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 80),
    )
    child.expect("Which service")
    child.send(DOWN + "\r")  # Another Nextcloud server
    child.expect("Name of the remote")
    child.send("\r")
    child.expect("Nextcloud server address")
    child.send(real_nextcloud.url + "\r")
    child.expect("How do you want to sign in")
    # The recommended choice is where the cursor starts (questionary marks it with »).
    child.expect(r"»(\x1b\[[0-9;]*m|\s)*In a browser")
    child.send("\r")
    child.expect(r"grant access:\r\n")
    child.expect(r"(http://\S+)\r\n")
    link = child.match.group(1)  # one line, nothing else on it, even at 80 columns
    assert link.startswith(f"{real_nextcloud.url}/index.php/login/v2/flow/")
    real_nextcloud.approve(link, nc_user)
    child.expect("Saved")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert rclone_lsd(rclone_bin, conf, "nextcloud:").returncode == 0  # the default name


def test_login_flow_remove_without_a_terminal_keeps_the_app_password_and_says_so(
    real_nextcloud, nc_user, tmp_path
):
    conf = tmp_path / "rclone.conf"
    login_flow_setup(real_nextcloud, nc_user, conf)
    app_password = stored_password(conf)
    removed = rcwiz("--config", str(conf), "remotes", "rm", "nc")
    assert removed.returncode == 0, removed.stderr
    said = removed.stdout + removed.stderr
    assert "Kept the app password" in said and "--revoke" in said  # one line: what, and how
    status, _ = nc_user.server.http(
        "PROPFIND", nc_user.dav_url, auth=(nc_user.name, app_password), headers={"Depth": "0"}
    )
    assert status == 207  # still valid, as said


def test_login_flow_nobody_grants_ends_with_a_sentence(real_nextcloud, tmp_path):
    conf = tmp_path / "rclone.conf"
    done = rcwiz(
        "--config",
        str(conf),
        "setup",
        "--preset",
        "nextcloud",
        "--server",
        real_nextcloud.url,
        "--login-flow",
        "--name",
        "nc",
        "--yes",
        "--login-timeout",
        "1",
    )
    assert done.returncode == 1, done.stderr
    assert "login flow ended" in done.stderr and "Traceback" not in done.stderr
    assert not conf.exists()
