import subprocess
from dataclasses import replace

import pytest

from rcwiz.rclone.transfer import (
    TransferOptions,
    is_rate,
    stats_flags,
    transfer_argv,
    write_files_from,
)


def test_copy_argv_has_json_stats_and_options_in_order():
    opts = TransferOptions(
        source="/data",
        dest="nc:results",
        dry_run=True,
        transfers=8,
        bwlimit="10M",
        include=("*.csv",),
        exclude=("*.tmp", "cache/**"),
        checksum=True,
        tuning=("--webdav-nextcloud-chunk-size", "64M"),
        extra=("--max-age", "1d"),
    )
    assert transfer_argv(opts, stats_interval=0.5) == (
        "copy",
        "--stats",
        "500ms",
        "--stats-log-level",
        "NOTICE",
        "-v",
        "--dry-run",
        "--transfers",
        "8",
        "--bwlimit",
        "10M",
        "--include",
        "*.csv",
        "--exclude",
        "*.tmp",
        "--exclude",
        "cache/**",
        "--checksum",
        "--webdav-nextcloud-chunk-size",
        "64M",
        "--max-age",
        "1d",
        "--",
        "/data",
        "nc:results",
    )


def test_minimal_sync_argv():
    argv = transfer_argv(TransferOptions("a", "b:", verb="sync"), stats_interval=2)
    assert argv == ("sync", *stats_flags(2), "--", "a", "b:")
    assert "--dry-run" not in argv


def test_unknown_verb_is_refused():
    import pytest

    with pytest.raises(ValueError):
        transfer_argv(TransferOptions("a", "b", verb="delete"))


def test_paths_that_look_like_flags_stay_paths():
    # A folder named "-v" or "--delete-before" must reach rclone as a path, not a flag.
    argv = transfer_argv(TransferOptions("-v", "nc:--delete-before", verb="sync"))
    assert argv[-3:] == ("--", "-v", "nc:--delete-before")
    assert argv.count("-v") == 2  # rcwiz's own -v, and the source


RATES = ["10M", "1.5G", "100k", "512", "off", "1M:512k", "08:00,512k 12:00,10M", "Mon-08:00,1M"]
NOT_RATES = ["fast", "10MB", "-1", "10 M", "1M:fast"]


@pytest.mark.parametrize("value", RATES + NOT_RATES)
def test_is_rate_agrees_with_rclone(value, rclone_bin, tmp_path):
    done = subprocess.run(
        [str(rclone_bin), "--bwlimit", value, "lsf", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert is_rate(value) == (done.returncode == 0), done.stderr


def test_only_the_files_left_go_to_rclone_without_a_listing():
    opts = TransferOptions(
        "/data", "nc:r", only="/tmp/left", no_traverse=True, extra=("--max-age", "1d")
    )
    argv = transfer_argv(opts, stats_interval=1)
    assert argv[-8:] == (
        "--files-from-raw",
        "/tmp/left",
        "--no-traverse",
        "--max-age",
        "1d",
        "--",
        "/data",
        "nc:r",
    )


def test_files_from_writes_names_as_they_are_or_refuses(tmp_path):
    listing = tmp_path / "list"
    assert write_files_from(["a b.txt", "#not a comment", " x", "caf\udce9.txt"], listing)
    assert listing.read_bytes() == b"a b.txt\n#not a comment\n x\ncaf\xe9.txt\n"
    assert not write_files_from(["ok", "line\nbreak"], tmp_path / "other")
    # rclone lists these under other names (U+2409, U+201B U+2409, U+2421): not found by bytes
    for name in ("tab\tname.txt", "pic\u2409.txt", "del\x7f.txt"):
        assert not write_files_from(["ok", name], tmp_path / "other"), name


def test_rcwizs_own_options_never_reach_rclone():
    opts = TransferOptions("a", "nc:b", verify=True, checksum=True)
    argv = transfer_argv(opts, stats_interval=1)
    assert "--checksum" in argv and "--verify" not in argv


def test_the_files_left_go_to_rclone_without_the_filters_they_passed(rclone_bin, tmp_path):
    # rclone refuses filters beside --files-from-raw ("it should be used alone"): the names a
    # fast path left had passed them already (rcwiz asked rclone which files do).
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("a")
    (tmp_path / "left").write_text("a.txt\n")
    filtered = TransferOptions(str(tmp_path / "src"), str(tmp_path / "dst"), exclude=("*.tmp",))
    assert "--exclude" in transfer_argv(filtered)
    argv = transfer_argv(replace(filtered, only=str(tmp_path / "left")))
    assert "--exclude" not in argv and "--files-from-raw" in argv
    done = subprocess.run([str(rclone_bin), *argv], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "dst" / "a.txt").read_text() == "a"
