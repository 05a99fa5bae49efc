"""`rcwiz job ...` on the real rclone and the real quota server."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import textwrap
from pathlib import Path

import pexpect
import psutil
import pytest
from helpers import RCWIZ, json_lines, json_result, rcwiz, tree_size


@pytest.fixture
def world(tmp_path, quota_server, rclone_conf):
    """A source folder, a remote on the quota server, and a jobs file pointing at both."""
    source = tmp_path / "results"
    source.mkdir()
    for i in range(6):
        (source / f"r{i}.csv").write_bytes(os.urandom(1000 + i))
    conf = rclone_conf(tmp_path / "rclone.conf", {"q": quota_server})
    jobs = tmp_path / "jobs.yaml"
    marker = tmp_path / "hook.out"
    jobs.write_text(
        textwrap.dedent(f"""\
        # our transfers
        jobs:
          nightly:
            source: {source}
            dest: q:results
            after: 'echo "$RCWIZ_JOB $RCWIZ_OUTCOME $RCWIZ_FILES $RCWIZ_BYTES" > {marker}'
            on_failure: 'echo "failed $RCWIZ_ERROR" > {marker}'
        """)
    )
    base = ["--config", str(conf), "--jobs", str(jobs)]
    return {
        "source": source,
        "conf": conf,
        "jobs": jobs,
        "base": base,
        "marker": marker,
        "server": quota_server,
    }


def test_run_copies_records_history_and_calls_the_after_hook(world):
    files, size = tree_size(world["source"])
    done = rcwiz(*world["base"], "job", "run", "nightly")
    assert done.returncode == 0, done.stderr
    assert tree_size(world["server"].root / "results") == (files, size)
    assert world["marker"].read_text().split() == ["nightly", "ok", str(files), str(size)]
    history = json_result(rcwiz(*world["base"], "--json", "job", "history", "nightly").stdout)[
        "runs"
    ]
    assert [(h["outcome"], h["files"], h["bytes"]) for h in history] == [("ok", files, size)]
    listed = json_result(rcwiz(*world["base"], "--json", "job", "list").stdout)["jobs"]
    assert listed[0]["name"] == "nightly" and listed[0]["last_run"]["outcome"] == "ok"


def test_failure_runs_on_failure_hook_and_is_recorded(world):
    world["server"].stop()
    done = rcwiz(*world["base"], "job", "run", "nightly")
    assert done.returncode == 6, done.stderr
    assert world["marker"].read_text().startswith("failed The server could not be reached")
    (run,) = json_result(rcwiz(*world["base"], "--json", "job", "history").stdout)["runs"]
    assert run["outcome"] == "failed" and "could not be reached" in run["error"]


def test_show_prints_the_exact_rclone_command(world):
    done = rcwiz(*world["base"], "--json", "job", "show", "nightly")
    assert done.returncode == 0, done.stderr
    shown = json_result(done.stdout, "job show")
    argv = shown["rclone_argv"]
    assert argv[0].endswith("rclone") and "copy" in argv
    assert argv[-3:] == ["--", str(world["source"]), "q:results"]  # paths last, after --
    assert shown["profile"]["dest"] == "q:results"


def test_a_second_run_is_refused_while_the_first_holds_the_lock(world):
    big = world["source"] / "big.bin"
    big.write_bytes(os.urandom(8 * 2**20))
    text = world["jobs"].read_text().replace("dest: q:results", "dest: q:results\n    bwlimit: 1M")
    world["jobs"].write_text(text)
    first = subprocess.Popen(
        [*RCWIZ, *world["base"], "job", "run", "nightly", "--log-interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in first.stdout:
            if " progress " in line:
                break
        second = rcwiz(*world["base"], "job", "run", "nightly")
        assert second.returncode == 10
        assert f"PID {first.pid}" in second.stderr and "already running" in second.stderr
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=30) == 130
    finally:
        if first.poll() is None:
            first.kill()
    runs = json_result(rcwiz(*world["base"], "--json", "job", "history").stdout)["runs"]
    assert [r["outcome"] for r in runs] == ["interrupted"]


def test_a_lock_left_by_a_dead_process_is_taken_over(world, tmp_path):
    big = world["source"] / "big.bin"
    big.write_bytes(os.urandom(6 * 2**20))
    world["jobs"].write_text(
        world["jobs"].read_text().replace("dest: q:results", "dest: q:results\n    bwlimit: 2M")
    )
    first = subprocess.Popen(
        [*RCWIZ, *world["base"], "job", "run", "nightly", "--log-interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    for line in first.stdout:
        if " progress " in line:
            break
    children = psutil.Process(first.pid).children(recursive=True)
    first.kill()  # SIGKILL: no cleanup at all
    first.wait()
    psutil.wait_procs(children, timeout=5)
    # The limit kept the first run going until it was killed; the second need not crawl.
    world["jobs"].write_text(world["jobs"].read_text().replace("\n    bwlimit: 2M", ""))
    again = rcwiz(*world["base"], "job", "run", "nightly")
    assert again.returncode == 0, again.stderr
    assert f"left by PID {first.pid}" in again.stderr


def test_wait_queues_behind_a_running_job(world):
    world["jobs"].write_text(
        world["jobs"].read_text().replace("dest: q:results", "dest: q:results\n    bwlimit: 1M")
    )
    (world["source"] / "big.bin").write_bytes(os.urandom(4 * 2**20))
    first = subprocess.Popen(
        [*RCWIZ, *world["base"], "job", "run", "nightly", "--log-interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    for line in first.stdout:
        if " progress " in line:
            break
    second = rcwiz(*world["base"], "job", "run", "nightly", "--wait")
    assert first.wait(timeout=60) == 0
    assert second.returncode == 0, second.stderr
    assert "waiting for it to finish" in second.stderr
    runs = json_result(rcwiz(*world["base"], "--json", "job", "history").stdout)["runs"]
    assert [r["outcome"] for r in runs] == ["ok", "ok"]


def test_add_from_flags_keeps_the_file_and_its_comments(world):
    before = world["jobs"].read_text()
    done = rcwiz(
        *world["base"],
        "job",
        "add",
        "fetch",
        "--source",
        "q:inputs",
        "--dest",
        str(world["source"].parent / "inputs"),
        "--yes",
    )
    assert done.returncode == 0, done.stderr
    after = world["jobs"].read_text()
    assert after.startswith(before.rstrip("\n"))
    assert stat.S_IMODE(world["jobs"].stat().st_mode) == 0o600
    assert world["jobs"].with_name("jobs.yaml.bak").read_text() == before
    names = [
        j["name"]
        for j in json_result(rcwiz(*world["base"], "--json", "job", "list").stdout)["jobs"]
    ]
    assert names == ["nightly", "fetch"]
    removed = rcwiz(*world["base"], "job", "rm", "fetch")
    assert removed.returncode == 0 and world["jobs"].read_text() == before


def test_add_sync_needs_allow_deletes(world):
    done = rcwiz(
        *world["base"],
        "job",
        "add",
        "mirror",
        "--source",
        "a",
        "--dest",
        "q:b",
        "--mode",
        "sync",
        "--yes",
    )
    assert done.returncode == 2 and "--allow-deletes" in done.stderr


def test_edit_keeps_the_old_file_when_the_new_one_is_invalid(world, tmp_path):
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/dest:/destt:/' \"$1\"\n")
    editor.chmod(0o755)
    before = world["jobs"].read_text()
    done = rcwiz(*world["base"], "job", "edit", env={"EDITOR": str(editor)})
    assert done.returncode == 2
    assert "destt" in done.stderr and "did you mean 'dest'" in done.stderr
    assert world["jobs"].read_text() == before
    good = tmp_path / "good.sh"
    good.write_text("#!/bin/sh\nsed -i 's/dest: q:results/dest: q:results2/' \"$1\"\n")
    good.chmod(0o755)
    assert rcwiz(*world["base"], "job", "edit", env={"EDITOR": str(good)}).returncode == 0
    assert "dest: q:results2" in world["jobs"].read_text()


def test_validate_reports_every_problem_with_lines(tmp_path):
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text("jobs:\n  a:\n    source: x\n    destt: y\n    transfers: many\n")
    done = rcwiz("--jobs", str(jobs), "job", "validate")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "jobs.yaml:4:" in done.stderr and "did you mean 'dest'" in done.stderr
    assert "jobs.yaml:5:" in done.stderr and "many" in done.stderr
    assert "dest" in done.stderr


def test_dry_run_changes_nothing_and_is_recorded_as_such(world):
    done = rcwiz(*world["base"], "--json", "job", "run", "nightly", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert json_lines(done.stdout)[-1]["dry_run"] is True
    assert not (world["server"].root / "results").exists()


def test_schedule_prints_a_crontab_line_and_systemd_units(world):
    cron = rcwiz(
        *world["base"], "job", "schedule", "nightly", "--cron", "30 2 * * 1-5", "--via", "cron"
    )
    assert cron.returncode == 0, cron.stderr
    line = cron.stdout.splitlines()[0]
    assert line.startswith("30 2 * * 1-5 ") and "job run nightly" in line
    assert f"--jobs {world['jobs']}" in line and line.endswith("# rcwiz job nightly")
    timer = rcwiz(
        *world["base"], "job", "schedule", "nightly", "--daily", "02:30", "--via", "systemd"
    )
    assert timer.returncode == 0, timer.stderr
    assert "OnCalendar=*-*-* 02:30:00" in timer.stdout and "ExecStart=" in timer.stdout
    bad = rcwiz(*world["base"], "job", "schedule", "nightly", "--daily", "25:00")
    assert bad.returncode == 2


def test_schedule_install_and_remove_with_crontab(world, tmp_path):
    # A stand-in for crontab(1) that keeps the table in a file: this tests rcwiz's editing of
    # the table (other lines kept, its own line replaced or removed), not cron itself.
    table = tmp_path / "crontab.txt"
    table.write_text("0 1 * * * backup.sh\n")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "crontab"
    fake.write_text(f'#!/bin/sh\nif [ "$1" = "-l" ]; then cat {table}; else cat > {table}; fi\n')
    fake.chmod(0o755)
    env = {"PATH": f"{bindir}:{os.environ['PATH']}"}
    args = [*world["base"], "job", "schedule", "nightly", "--daily", "03:15", "--via", "cron"]
    assert rcwiz(*args, "--install", env=env).returncode == 0
    assert rcwiz(*args, "--install", env=env).returncode == 0  # replaces, not duplicates
    rows = table.read_text().splitlines()
    assert rows[0] == "0 1 * * * backup.sh" and len(rows) == 2
    assert rows[1].startswith("15 3 * * * ")
    assert rcwiz(*args, "--remove", env=env).returncode == 0
    assert table.read_text() == "0 1 * * * backup.sh\n"


def test_show_argv_is_the_argv_that_runs(world):
    shown = json_result(rcwiz(*world["base"], "--json", "job", "show", "nightly").stdout)
    assert rcwiz(*world["base"], "job", "run", "nightly").returncode == 0
    (run,) = json_result(rcwiz(*world["base"], "--json", "job", "history").stdout)["runs"]
    with open(run["log"], encoding="utf-8") as log:
        started = json.loads(log.readline())
    assert started["rcwiz"] == "start"
    assert started["argv"] == shown["rclone_argv"]


def test_validate_names_a_remote_rclone_conf_does_not_have(tmp_path, rclone_conf, webdav_server):
    conf = rclone_conf(tmp_path / "rclone.conf", {"nextcloud": webdav_server})
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        "defaults:\n  dest: nocloud:shared\n"
        "jobs:\n  a:\n    source: /data/a\n  b:\n    source: /data/b\n"
        "  c:\n    source: nextcloud:in\n    dest: /scratch/c\n"
        "  d:\n    source: :webdav:x\n    dest: /scratch/d\n"
    )
    done = rcwiz("--config", str(conf), "--jobs", str(jobs), "job", "validate")
    assert done.returncode == 2, done.stderr
    problems = [line for line in done.stderr.splitlines() if "jobs.yaml:" in line]
    assert problems == [
        f"  {jobs}:2:9: defaults.dest: there is no remote 'nocloud:' in rclone.conf "
        "(did you mean 'nextcloud'?) (remotes: nextcloud:)"
    ]
    fine = rcwiz("--config", str(conf), "--jobs", str(jobs), "job", "validate", "--json")
    assert fine.returncode == 2 and json_result(fine.stdout)["error"]["items"] == [
        problems[0].strip()
    ]


def _profile(world, name):
    shown = json_result(rcwiz(*world["base"], "--json", "job", "show", name).stdout, "job show")
    return {k: v for k, v in shown["profile"].items() if v not in (None, [], False)}


def test_add_from_flags_alone_makes_a_plain_profile(world):
    done = rcwiz(
        *world["base"], "job", "add", "up", "--source", "/data/up", "--dest", "q:up", "--yes"
    )
    assert done.returncode == 0, done.stderr
    assert _profile(world, "up") == {
        "name": "up",
        "source": "/data/up",
        "dest": "q:up",
        "mode": "copy",
    }
    flagged = rcwiz(
        *world["base"],
        "job",
        "add",
        "up2",
        "--source",
        "/d",
        "--dest",
        "q:x",
        "--include",
        "*.csv",
        "--transfers",
        "2",
        "--after",
        "echo done",
    )
    assert flagged.returncode == 0, flagged.stderr
    assert _profile(world, "up2") == {
        "name": "up2",
        "source": "/d",
        "dest": "q:x",
        "mode": "copy",
        "include": ["*.csv"],
        "transfers": 2,
        "after": "echo done",
    }


def test_a_template_never_brings_a_setting_unseen(world):
    refused = rcwiz(
        *world["base"],
        "job",
        "add",
        "in",
        "--template",
        "fetch-inputs",
        "--source",
        "q:in",
        "--dest",
        "/scratch/in",
    )
    assert refused.returncode == 2, refused.stderr
    assert "extra_flags: --max-age 30d --fast-list" in refused.stderr
    assert "--yes" in refused.stderr and "Traceback" not in refused.stderr
    assert "so no job was added" in refused.stderr  # as the README says
    assert "  in:" not in world["jobs"].read_text()
    kept = rcwiz(
        *world["base"],
        "job",
        "add",
        "in",
        "--template",
        "fetch-inputs",
        "--source",
        "q:in",
        "--dest",
        "/scratch/in",
        "--transfers",
        "2",
        "--yes",
    )
    assert kept.returncode == 0, kept.stderr
    assert (
        "extra_flags: --max-age 30d --fast-list  (rclone sends fewer files with it)" in kept.stdout
    )
    profile = _profile(world, "in")
    assert profile["extra_flags"] == ["--max-age", "30d", "--fast-list"]
    assert profile["transfers"] == 2  # the flag wins over the template's 8
    assert profile["source"] == "q:in" and profile["dest"] == "/scratch/in"


def test_a_template_setting_declined_at_the_terminal_is_not_kept(world):
    child = pexpect.spawn(
        RCWIZ[0],
        [
            *RCWIZ[1:],
            *world["base"],
            "job",
            "add",
            "nightly2",
            "--template",
            "nightly-results",
            "--source",
            "/r",
            "--dest",
            "q:r",
            "--mode",
            "copy",
        ],
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 100),
    )
    answers = {"filter": "y", "transfers": "n", "bwlimit": "y", "before": "n"}
    asked: list[str] = []
    while child.expect([r"Keep (\w+):", pexpect.EOF]) == 0:
        key = child.match.group(1)
        if key not in asked:  # each question is drawn again once answered
            asked.append(key)
            child.send(answers[key] + "\r")  # as people type: the key, then Enter
    assert asked == list(answers)
    child.close()
    assert child.exitstatus == 0, child.before
    profile = _profile(world, "nightly2")
    assert "transfers" not in profile and "before" not in profile
    assert profile["filter"] == ["- *.tmp", "+ *.csv", "+ *.h5", "+ logs/**", "- *"]
    assert profile["bwlimit"] == "20M"


def test_no_then_enter_to_every_template_question_keeps_none_of_them(world):
    """The key and then Enter answer one question: the Enter must not answer the next."""
    child = pexpect.spawn(
        RCWIZ[0],
        [
            *RCWIZ[1:],
            *world["base"],
            *("job", "add", "plain", "--template", "nightly-results"),
            *("--source", "/r", "--dest", "q:r", "--mode", "copy"),
        ],
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 100),
    )
    asked: list[str] = []
    while child.expect([r"Keep (\w+):", pexpect.EOF]) == 0:
        if child.match.group(1) not in asked:
            asked.append(child.match.group(1))
            child.send("n\r")
    child.close()
    assert child.exitstatus == 0, child.before
    assert len(asked) >= 3, asked  # the template asks about several settings
    profile = _profile(world, "plain")
    assert not set(asked) & set(profile), profile


def _fake_scrontab(tmp_path):
    """A stand-in for Slurm's scrontab(1) keeping the table in a file: `-l` prints it, a file
    argument replaces it. It tests rcwiz's editing of the table, not Slurm."""
    table = tmp_path / "scrontab.txt"
    table.write_text("#SCRON --time=5\n0 4 * * * other.sh\n")
    bindir = tmp_path / "slurm-bin"
    bindir.mkdir()
    fake = bindir / "scrontab"
    fake.write_text(f'#!/bin/sh\nif [ "$1" = "-l" ]; then cat {table}; else cp "$1" {table}; fi\n')
    fake.chmod(0o755)
    return table, {"PATH": f"{bindir}:{os.environ['PATH']}"}


def test_schedule_on_a_slurm_login_node_offers_a_scrontab_entry(world, tmp_path):
    table, env = _fake_scrontab(tmp_path)
    args = [*world["base"], "job", "schedule", "nightly", "--daily", "02:30", "--time", "4:00:00"]
    shown = rcwiz(*args, env=env)  # scrontab on PATH: Slurm is the default
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[:2] == ["#SCRON --job-name=rcwiz-job-nightly", "#SCRON --time=4:00:00"]
    assert lines[2].startswith("#SCRON --output=") and lines[2].endswith("job-nightly.log")
    assert lines[4].startswith("30 2 * * * ") and lines[4].endswith(
        "job run nightly # rcwiz job nightly"
    )
    assert rcwiz(*args, "--install", env=env).returncode == 0
    assert rcwiz(*args, "--install", env=env).returncode == 0  # replaces, not duplicates
    rows = table.read_text().splitlines()
    assert rows[:2] == ["#SCRON --time=5", "0 4 * * * other.sh"] and rows[2:] == lines[:5]
    assert rcwiz(*args, "--remove", env=env).returncode == 0
    assert table.read_text() == "#SCRON --time=5\n0 4 * * * other.sh\n"


def test_schedule_via_slurm_without_slurm_says_so(world):
    path = os.pathsep.join(
        p
        for p in os.environ["PATH"].split(os.pathsep)
        if not os.path.exists(os.path.join(p, "scrontab"))
    )
    args = [*world["base"], "job", "schedule", "nightly", "--daily", "02:30", "--via", "slurm"]
    printed = rcwiz(*args, env={"PATH": path})
    assert printed.returncode == 0 and printed.stdout.startswith("#SCRON --job-name=")
    done = rcwiz(*args, "--install", env={"PATH": path})
    assert done.returncode == 1, done.stderr
    assert "scrontab is not installed here (no Slurm)" in done.stderr
    # The hint names a scheduler that works here, or says that none does.
    assert "Use --via " in done.stderr or "No scheduler works here" in done.stderr
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------- dry runs and hooks


@pytest.mark.parametrize("how", ["--dry-run", "dry_run: true"])
def test_a_dry_run_runs_no_hook_and_shows_each_one(world, tmp_path, how):
    ran = tmp_path / "ran"
    hooks = (
        f"    before: 'echo before >> {ran}'\n"
        f"    after: 'echo \"after $RCWIZ_FILES\" >> {ran}; echo [bold]x[/]'\n"
        + ("    dry_run: true\n" if how == "dry_run: true" else "")
    )
    text = world["jobs"].read_text()
    text = text.replace(
        f'    after: \'echo "$RCWIZ_JOB $RCWIZ_OUTCOME $RCWIZ_FILES $RCWIZ_BYTES" > '
        f"{world['marker']}'\n",
        hooks,
    )
    world["jobs"].write_text(text)
    flag = ["--dry-run"] if how == "--dry-run" else []
    done = rcwiz(*world["base"], "job", "run", "nightly", *flag)
    assert done.returncode == 0, done.stderr
    assert not ran.exists() and not world["marker"].exists()  # no hook ran
    assert not (world["server"].root / "results").exists()
    shown = [line for line in done.stdout.splitlines() if "hook would run" in line]
    assert shown == [
        f"dry run: the before hook would run here (not run): echo before >> {ran}",
        f'dry run: the after hook would run here (not run): echo "after $RCWIZ_FILES" >> '
        f"{ran}; echo [bold]x[/]",
    ]
    (run,) = json_result(rcwiz(*world["base"], "--json", "job", "history").stdout)["runs"]
    assert run["dry_run"] is True and run["outcome"] == "ok"
    listed = rcwiz(*world["base"], "job", "list")
    assert "(dry run)" in listed.stdout


def test_a_dry_run_that_fails_shows_the_on_failure_hook_without_running_it(world):
    world["server"].stop()
    done = rcwiz(*world["base"], "job", "run", "nightly", "--dry-run")
    assert done.returncode == 6, done.stderr
    assert not world["marker"].exists()
    assert "dry run: the on_failure hook would run here (not run): echo" in done.stdout


# --------------------------------------------------------------------------- job add


def test_add_refuses_a_remote_rclone_conf_does_not_have(world):
    before = world["jobs"].read_text()
    done = rcwiz(*world["base"], "job", "add", "bad", "--source", "./data", "--dest", "qq:x")
    assert done.returncode == 3, done.stderr
    assert "stored as" not in done.stdout  # nothing was stored
    assert "There is no remote 'qq:' in rclone.conf (did you mean 'q:'?)" in done.stderr
    assert (
        "The configured remotes are q:." in done.stderr and "rcwiz setup --name qq" in done.stderr
    )
    assert world["jobs"].read_text() == before
    assert rcwiz(*world["base"], "job", "validate").returncode == 0


def test_add_writes_only_what_was_given_and_local_paths_absolute(world, tmp_path):
    (tmp_path / "here" / "results").mkdir(parents=True)
    done = rcwiz(
        *world["base"],
        "job",
        "add",
        "up",
        "--source",
        "./results",
        "--dest",
        "q:up",
        cwd=tmp_path / "here",
    )
    assert done.returncode == 0, done.stderr
    absolute = tmp_path / "here" / "results"
    assert f"The source ./results is stored as {absolute}" in done.stdout
    added = world["jobs"].read_text().split("  up:\n", 1)[1]
    assert added == f"    source: {absolute}\n    dest: q:up\n"  # no mode: copy
    home = rcwiz(*world["base"], "job", "add", "down", "--source", "q:up", "--dest", "~/in")
    assert home.returncode == 0, home.stderr
    assert f"dest: {os.environ['HOME']}/in\n" in world["jobs"].read_text()
    given = rcwiz(
        *world["base"], "job", "add", "c", "--source", "/d", "--dest", "q:c", "--mode", "copy"
    )
    assert given.returncode == 0 and "mode: copy" in world["jobs"].read_text().split("  c:\n")[1]


def test_add_without_mode_follows_the_files_defaults(tmp_path, rclone_conf, quota_server):
    conf = rclone_conf(tmp_path / "rclone.conf", {"q": quota_server})
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text("defaults:\n  mode: sync\n  allow_deletes: true\njobs: {}\n")
    base = ["--config", str(conf), "--jobs", str(jobs)]
    refused = rcwiz(*base, "job", "add", "m", "--source", "/d", "--dest", "q:m")
    assert refused.returncode == 2 and "A sync profile deletes files" in refused.stderr
    done = rcwiz(*base, "job", "add", "m", "--source", "/d", "--dest", "q:m", "--allow-deletes")
    assert done.returncode == 0, done.stderr
    assert "mode:" not in jobs.read_text().split("  m:\n")[1]
    copy = rcwiz(*base, "job", "add", "c", "--source", "/d", "--dest", "q:c", "--mode", "copy")
    assert copy.returncode == 0 and "mode: copy" in jobs.read_text().split("  c:\n")[1]


def test_a_tilde_in_a_profile_is_the_home_folder(world, tmp_path):
    world["jobs"].write_text(
        world["jobs"].read_text() + "  down:\n    source: q:results\n    dest: ~/got\n"
    )
    assert rcwiz(*world["base"], "job", "run", "nightly").returncode == 0
    done = rcwiz(*world["base"], "job", "run", "down", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert tree_size(Path(os.environ["HOME"]) / "got") == tree_size(world["source"])
    assert not (tmp_path / "~").exists()


# --------------------------------------------------------------------------- schedule


def test_schedule_carries_the_config_and_rclone_in_use(world, rclone_bin, tmp_path):
    jobs = ["--jobs", str(world["jobs"])]  # no --config: RCLONE_CONFIG names it
    relative_conf = os.path.relpath(world["conf"], tmp_path)
    env = {"RCLONE_CONFIG": relative_conf, "RCLONE_BINARY": str(rclone_bin)}
    done = rcwiz(
        *jobs,
        "job",
        "schedule",
        "nightly",
        "--cron",
        "0 3 * * *",
        "--via",
        "cron",
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    line = done.stdout.splitlines()[0]
    assert f"--config {world['conf']} " in line and f"--rclone {rclone_bin} " in line
    default = rcwiz(*jobs, "job", "schedule", "nightly", "--daily", "03:00", "--via", "systemd")
    assert default.returncode == 0, default.stderr
    own = f"{os.environ['XDG_CONFIG_HOME']}/rclone/rclone.conf"
    assert f"--config {own} " in default.stdout and "--rclone" not in default.stdout


def test_schedule_refuses_and_validate_warns_about_a_relative_path(world):
    world["jobs"].write_text(
        world["jobs"].read_text() + "  rel:\n    source: ./results\n    dest: q:rel\n"
    )
    done = rcwiz(*world["base"], "job", "schedule", "rel", "--daily", "02:30", "--via", "cron")
    assert done.returncode == 2, done.stderr
    assert "Job 'rel' has a relative source (./results)" in done.stderr
    assert "so it was not scheduled" in done.stderr and done.stdout == ""
    checked = rcwiz(*world["base"], "--json", "job", "validate")
    assert checked.returncode == 0, checked.stderr
    (warning,) = json_result(checked.stdout, "job validate")["warnings"]
    assert warning.startswith(f"{world['jobs']}:9:13: jobs.rel.source: './results' is a relative")
    assert "warning:" in checked.stderr and "make it absolute" in checked.stderr


# --------------------------------------------------------------------------- templates


def test_the_nightly_template_waits_for_done_and_sends_only_finished_outputs(world, tmp_path):
    results = tmp_path / "cluster"
    for name in ("a.csv", "b.h5", "c.tmp", "d.txt", "logs/run.log", "logs/x.tmp", "sub/e.csv"):
        (results / name).parent.mkdir(parents=True, exist_ok=True)
        (results / name).write_text(name)
    args = ["--template", "nightly-results", "--source", str(results), "--dest", "q:nightly"]
    added = rcwiz(*world["base"], "job", "add", "n", *args, "--yes")
    assert added.returncode == 0, added.stderr
    assert "replace" not in added.stdout  # no placeholder left in the shipped template
    assert "  filter: '- *.tmp', '+ *.csv', '+ *.h5', '+ logs/**', '- *'" in added.stdout
    early = rcwiz(*world["base"], "job", "run", "n")
    assert early.returncode == 11, early.stderr  # no DONE yet: the before hook says wait
    assert "status: exited with 1" in early.stderr
    (results / "DONE").write_text("")
    done = rcwiz(*world["base"], "job", "run", "n")
    assert done.returncode == 0, done.stderr
    assert "--filter is recommended" not in done.stdout
    sent = sorted(
        str(p.relative_to(world["server"].root / "nightly"))
        for p in (world["server"].root / "nightly").rglob("*")
        if p.is_file()
    )
    assert sent == ["a.csv", "b.h5", "logs/run.log", "sub/e.csv"]


def test_include_with_exclude_is_shown_as_rclone_says_it(world):
    filters = ["--include", "*.csv", "--exclude", "r0*"]
    done = rcwiz("--config", str(world["conf"]), "copy", str(world["source"]), "q:mixed", *filters)
    assert done.returncode == 0, done.stderr
    assert "error Using --filter is recommended instead of both --include and --exclude" in (
        done.stdout
    )
    world["jobs"].write_text(
        world["jobs"].read_text() + "  mix:\n    source: /d\n    dest: q:m\n"
        "    include: '*.csv'\n    exclude: '*.tmp'\n"
    )
    checked = rcwiz(*world["base"], "job", "validate")
    assert checked.returncode == 0 and "include and exclude together" in checked.stderr


def test_an_option_rclone_refuses_is_the_error_of_the_run(world):
    text = (
        world["jobs"]
        .read_text()
        .replace("dest: q:results\n", "dest: q:results\n    extra_flags: \"--include '['\"\n")
    )
    world["jobs"].write_text(text)
    done = rcwiz(*world["base"], "job", "run", "nightly")
    assert done.returncode == 2, done.stderr
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert error == (
        'error: rclone rejected the command line: failed to reload "filter" options: '
        "mismatched '[' and ']' in glob \"[\""
    )
    assert "Failed: copy" in done.stdout and "1 error(s)" in done.stdout
    assert world["marker"].read_text().startswith("failed rclone rejected")
    bad_rule = rcwiz(*world["base"], "copy", str(world["source"]), "q:x", "--filter", "x*")
    assert bad_rule.returncode == 2 and "'x*' is not a filter rule" in bad_rule.stderr


# --------------------------------------------------------------------------- lock files


def test_no_lock_file_is_left_and_a_folder_in_its_place_is_one_sentence(world):
    locks = Path(os.environ["XDG_STATE_HOME"]) / "rcwiz" / "locks"
    assert rcwiz(*world["base"], "job", "run", "nightly").returncode == 0
    assert list(locks.iterdir()) == []
    added = rcwiz(*world["base"], "job", "add", "x", "--source", "/d", "--dest", "q:x")
    assert added.returncode == 0 and not world["jobs"].with_name("jobs.yaml.lock").exists()
    (locks / "nightly.lock").mkdir()
    done = rcwiz(*world["base"], "job", "run", "nightly")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert f"The lock file of job 'nightly', {locks / 'nightly.lock'}, is a folder" in done.stderr
    world["jobs"].with_name("jobs.yaml.lock").mkdir()
    refused = rcwiz(*world["base"], "job", "add", "y", "--source", "/d", "--dest", "q:y")
    assert (
        refused.returncode == 1
        and "its lock file" in refused.stderr
        and "is a folder" in (refused.stderr)
    )
