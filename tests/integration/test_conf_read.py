"""rcwiz's in-process reading of rclone.conf against the real rclone, file by file.

For every file (a table of real cases, then files hypothesis makes up from the pieces
people and programs write: quoting, comments, duplicate sections, environment overrides,
empty values, odd names), `rclone config dump` and `rclone listremotes --json` are run, and
rcwiz.rclone.config must say exactly the same in-process; where rclone refuses a file, the
in-process reader must leave it to rclone (so the user sees rclone's own error).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rcwiz.rclone import conf_read
from rcwiz.rclone.config import read_here
from rcwiz.rclone.run import Rclone


def rclone_says(rclone_bin: Path, conf: Path, env: dict[str, str]) -> tuple[object, object] | None:
    """(`config dump`, `listremotes --json`) from the real rclone; None when it refuses."""
    full = {**os.environ, **env}
    out = []
    for args in (["config", "dump"], ["listremotes", "--json"]):
        done = subprocess.run(
            [str(rclone_bin), "--config", str(conf), "--ask-password=false", *args],
            capture_output=True,
            text=True,
            env=full,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            return None
        out.append(json.loads(done.stdout))
    return out[0], out[1]


def rcwiz_says(rclone_bin: Path, conf: Path, env: dict[str, str]) -> tuple[object, object] | None:
    here = read_here(Rclone(binary=rclone_bin, config=conf, env=env))
    if here is None:
        return None
    return conf_read.dump(*here), conf_read.listed(*here)


def compare(rclone_bin: Path, conf: Path, env: dict[str, str]) -> None:
    theirs = rclone_says(rclone_bin, conf, env)
    ours = rcwiz_says(rclone_bin, conf, env)
    if theirs is None:
        assert ours is None, f"rclone refuses this file, rcwiz read {ours}"
        return
    assert ours == theirs, conf.read_bytes()


CASES: dict[str, tuple[str | bytes, dict[str, str]]] = {
    "rcwiz setup's own": (
        "[nc]\ntype = webdav\nurl = https://cloud.example.org/remote.php/dav/files/alice\n"
        "vendor = nextcloud\nuser = alice\npass = 0Wgpq0TGkUtq3Rw4bMpdrqu1Tz4\n\n",
        {},
    ),
    "comments and blank lines": (
        "# made by hand\n; old style\n\n[a]\n# inside\ntype = local\n  ; indented\n",
        {},
    ),
    "a hash after a value is part of it": ("[a]\ntype = local\ndesc = one # two\n", {}),
    "quotes: double stay, backticks and triple go": (
        '[a]\ntype = webdav\nurl = "http://x/y"\nuser = `bob`\npass = """secret"""\nq = "x\n'
        "bt = `a` rest `b`\n",
        {},
    ),
    "quoted keys": ('[a]\ntype = local\n"k e y" = 1\n`bk`: 2\n"""tri""" = 3\n', {}),
    "colon as separator, first separator wins": (
        "[a]\ntype: local\nurl = http://h:1/p\nk: v=w\n",
        {},
    ),
    "empty values and spaces": ("[a]\ntype = local\nempty =\nsp =    \n  pad  =  v  \n", {}),
    "duplicate sections merge, later values win": (
        "[a]\ntype = webdav\nuser = first\nurl = u\n[b]\ntype = local\n[a]\nuser = second\n"
        "vendor = other\n",
        {},
    ),
    "a key given twice": ("[a]\ntype = local\nk = 1\nk = 2\n", {}),
    "DEFAULT and keys before any section": ("top = 1\n[a]\ntype = local\n[DEFAULT]\nx = y\n", {}),
    "variables from DEFAULT and the section": (
        "[DEFAULT]\nhost = example.org\n[a]\ntype = webdav\npath = dav\n"
        "url = https://%(host)s/%(path)s/%(missing)s\npass = %(pass)s\n",
        {},
    ),
    "counted keys": ("[a]\ntype = local\n- = one\n- = two\n[b]\n- = three\n", {}),
    "section names with spaces, dots, dashes": (
        "[ spaced ]\ntype = local\n[a.b]\ntype = local\n[my-remote]\ntype = webdav\n[x y]\n"
        "type = local\n",
        {},
    ),
    "an empty section is dumped, not listed": ("[a]\ntype = local\n[b]\n[c]\nurl = u\n", {}),
    "CRLF line endings and a BOM": (b"\xef\xbb\xbf[a]\r\ntype = local\r\nk = v \r\n", {}),
    "no newline at the end": ("[a]\ntype = local\nk = v", {}),
    "unicode names and values": ("[straße]\ntype = local\nuser = jörg\n[日本]\ntype = local\n", {}),
    "environment overrides a key the file has": (
        "[nc]\ntype = webdav\nurl = u\nvendor = nextcloud\nuser = alice\n[my-remote]\n"
        "type = local\nsome-key = 1\n",
        {
            "RCLONE_CONFIG_NC_VENDOR": "other",
            "RCLONE_CONFIG_NC_USER": "",
            "RCLONE_CONFIG_NC_HEADERS": "not in the file",
            "RCLONE_CONFIG_MY-REMOTE_SOME_KEY": "2",
            "RCLONE_CONFIG_MY_REMOTE_TYPE": "webdav",
        },
    ),
    "remotes defined in the environment": (
        "[zeta]\ntype = local\ndescription = from the file\n[alpha]\ntype = webdav\n",
        {
            "RCLONE_CONFIG_ZZ_TYPE": "local",
            "RCLONE_CONFIG_ALPHA_TYPE": "s3",
            "RCLONE_CONFIG_Mixed_TYPE": "webdav",
            "RCLONE_CONFIG_ZETA_DESCRIPTION": "from the environment",
        },
    ),
    "an empty file": ("", {}),
    "only comments": ("# nothing\n", {}),
    # rclone refuses these: rcwiz must leave them to rclone (and its message).
    "a line that is not key = value": ("[a]\ntype = local\njust words\n", {}),
    "a key that is empty": ("[a]\n= value\n", {}),
    "an unclosed backtick": ("[a]\nk = `open\n", {}),
    "a key after an empty section name": ("[]\nk = v\n", {}),
    "an unclosed quoted key": ('[a]\n"k = v\n', {}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_rcwiz_reads_rclone_conf_as_rclone_does(case, rclone_bin, tmp_path):
    text, env = CASES[case]
    conf = tmp_path / "rclone.conf"
    conf.write_bytes(text if isinstance(text, bytes) else text.encode())
    compare(rclone_bin, conf, env)


def test_a_missing_file_has_no_remotes(rclone_bin, tmp_path):
    compare(rclone_bin, tmp_path / "nowhere.conf", {})


def test_an_encrypted_file_is_left_to_rclone(rclone_bin, tmp_path):
    """rclone decrypts it (RCLONE_CONFIG_PASS); the in-process reader never tries."""
    conf = tmp_path / "rclone.conf"
    conf.write_text("[a]\ntype = local\n")
    env = {"RCLONE_CONFIG_PASS": "pw-for-the-test"}
    subprocess.run(
        [str(rclone_bin), "--config", str(conf), "config", "encryption", "set"],
        env={**os.environ, **env, "RCLONE_PASSWORD_COMMAND": ""},
        input="pw-for-the-test\npw-for-the-test\n",
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert b"RCLONE_ENCRYPT_V0:" in conf.read_bytes()
    assert rcwiz_says(rclone_bin, conf, env) is None
    theirs = rclone_says(rclone_bin, conf, env)
    assert theirs is not None and "a" in theirs[0]  # type: ignore[operator]


# --------------------------------------------------------------------------- made-up files

_NAMES = st.sampled_from(["a", "b", "nc", "my-remote", "x.y", "DEFAULT", "Spaced Name", "ü"])
_KEYS = st.sampled_from(["type", "url", "user", "pass", "vendor", "description", "some-key", "-"])
_VALUES = st.one_of(
    st.sampled_from(
        ["", "webdav", "local", "nextcloud", "http://h:1/p", '"quoted"', "`tick`", "a # b"]
    ),
    st.sampled_from(['"""tri"""', "%(url)s", "%(pass)s-x", "  padded  ", "a=b:c", "`a` b `c`"]),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
)
_SPACES = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def _line(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["section", "key", "key", "key", "comment", "blank"]))
    pad = draw(_SPACES)
    if kind == "section":
        return f"{pad}[{draw(_SPACES)}{draw(_NAMES)}{draw(_SPACES)}]"
    if kind == "comment":
        return f"{pad}{draw(st.sampled_from(['#', ';']))} {draw(_VALUES)}"
    if kind == "blank":
        return pad
    sep = draw(st.sampled_from([" = ", "=", ": ", " : "]))
    return f"{pad}{draw(_KEYS)}{sep}{draw(_VALUES)}"


@st.composite
def _conf(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    lines = draw(st.lists(_line(), max_size=14))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    env: dict[str, str] = {}
    for _ in range(draw(st.integers(0, 3))):
        name = draw(_NAMES).upper().replace(".", "_")
        key = draw(_KEYS).upper().replace("-", "_")
        env[f"RCLONE_CONFIG_{name}_{key}"] = draw(st.sampled_from(["", "local", "env-value"]))
    return ending.join(lines), env


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(made=_conf())
def test_made_up_files_are_read_as_rclone_reads_them(made, rclone_bin, tmp_path):
    text, env = made
    conf = tmp_path / "made.conf"
    conf.write_text(text, encoding="utf-8")
    compare(rclone_bin, conf, env)
