"""rcwiz.rclone.obscure against the real rclone: values obscured by rclone reveal here, values
obscured here reveal in rclone, and both reject the same malformed input.

The rclone calls are independent, so each batch runs them concurrently (a second or so in all).
"""

from __future__ import annotations

import base64
import json
import random
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rcwiz.rclone.obscure import (
    CRYPT_KEY,
    SBOX,
    aes_ctr,
    encrypt_block,
    expand_key,
    obscure,
    reveal,
    reveal_bytes,
)

PASSWORDS = [
    # ASCII
    "hunter2",
    "correct horse battery staple",
    "P@ss w0rd!#$%^&*()[]{};:'\",.<>/?\\|`~=+-_",
    "  leading and trailing spaces  ",
    "tab\tinside\t",
    # Unicode
    "pässwörd",
    "密码🔑",
    "Ω≈ç√∫˜µ≤≥÷",
    "emoji 👩\u200d🔬 with ZWJ",
    "\u00a0nbsp and e\u0301 combining",
    # Nextcloud app passwords and other base64-looking values (one is itself an obscured value)
    "Xk3pQ-aB7Rt-9mZLw-c2VhY-Tq8Nd",
    "ZzKy9eomc3xy9lh4G5ncxu-R7w",
    "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo",
    "kq3V0bW2Zc1r-8x_TfJ0pHnL4sYgUeA9iDoQmRwCzXE",
    # lengths around the 16-byte block size, and long ones
    "a" * 15,
    "b" * 16,
    "c" * 17,
    "d" * 1000,
    "".join(chr(0x20 + (i * 37) % 0x2000) for i in range(301)),
    # empty-ish
    "",
    " ",
    "a",
    "0",
]


def reveal_iv(obscured: str) -> bytes:
    """The 16-byte IV at the front of an obscured value."""
    return base64.urlsafe_b64decode(obscured + "=" * (-len(obscured) % 4))[:16]


def _reveal_argv(rclone_bin: Path, value: str) -> list[str]:
    # "--": a value may start with "-" (1 in 64 do), which rclone would parse as a flag.
    return [str(rclone_bin), "reveal", "--", value]


def _run_all(commands: list[tuple[list[str], bytes | None]]) -> list[subprocess.CompletedProcess]:
    """Run every (argv, stdin) concurrently; results in the same order."""

    def one(cmd: tuple[list[str], bytes | None]) -> subprocess.CompletedProcess:
        argv, stdin = cmd
        return subprocess.run(argv, input=stdin, capture_output=True, timeout=60, check=False)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, commands))


# ---------------------------------------------------------------------------- AES core


# FIPS-197 figure 7, row by row (the S-box in obscure.py is computed, not copied).
FIPS197_SBOX = bytes.fromhex(
    "637c777bf26b6fc53001672bfed7ab76ca82c97dfa5947f0add4a2af9ca472c0"
    "b7fd9326363ff7cc34a5e5f171d8311504c723c31896059a071280e2eb27b275"
    "09832c1a1b6e5aa0523bd6b329e32f8453d100ed20fcb15b6acbbe394a4c58cf"
    "d0efaafb434d338545f9027f503c9fa851a3408f929d38f5bcb6da2110fff3d2"
    "cd0c13ec5f974417c4a77e3d645d197360814fdc222a908846eeb814de5e0bdb"
    "e0323a0a4906245cc2d3ac629195e479e7c8376d8dd54ea96c56f4ea657aae08"
    "ba78252e1ca6b4c6e8dd741f4bbd8b8a703eb5664803f60e613557b986c11d9e"
    "e1f8981169d98e949b1e87e9ce5528df8ca1890dbfe6426841992d0fb054bb16"
)


def test_sbox_matches_fips197():
    assert SBOX == FIPS197_SBOX
    assert (SBOX[0x53], SBOX[0x00]) == (0xED, 0x63)  # the worked example in FIPS-197 5.1.1


def test_aes256_fips197_known_answer():
    # FIPS-197 appendix C.3 (AES-256).
    key = bytes(range(32))
    plain = bytes.fromhex("00112233445566778899aabbccddeeff")
    assert encrypt_block(expand_key(key), plain).hex() == "8ea2b7ca516745bfeafc49904b496089"
    # FIPS-197 appendix A.3: the last round key of the AES-256 key expansion.
    key_a3 = bytes.fromhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
    assert bytes(expand_key(key_a3)[-1]).hex() == "fe4890d1e6188d0b046df344706c631e"


def test_ctr_counter_is_128_bit_big_endian_and_wraps():
    round_keys = expand_key(CRYPT_KEY)
    zeros = bytes(48)
    stream = aes_ctr(CRYPT_KEY, b"\xff" * 16, zeros)
    assert stream[16:32] == encrypt_block(round_keys, bytes(16))  # wrapped to 0
    assert stream[32:] == encrypt_block(round_keys, bytes(15) + b"\x01")
    carry = aes_ctr(CRYPT_KEY, bytes(7) + b"\x00" + b"\xff" * 8, zeros)
    assert carry[16:32] == encrypt_block(round_keys, bytes(7) + b"\x01" + bytes(8))
    assert aes_ctr(CRYPT_KEY, bytes(16), b"") == b""


def test_known_value_from_rclone():
    # Printed by `rclone obscure abc` (rclone v1.75.2).
    assert reveal("ZzKy9eomc3xy9lh4G5ncxu-R7w") == "abc"
    assert (
        obscure("abc", iv=reveal_iv("ZzKy9eomc3xy9lh4G5ncxu-R7w")) == "ZzKy9eomc3xy9lh4G5ncxu-R7w"
    )


# ---------------------------------------------------------------------------- real rclone


def test_reveal_what_rclone_obscured_from_stdin(rclone_bin: Path):
    # `rclone obscure -` reads one line from stdin; the password never appears in argv.
    results = _run_all(
        [([str(rclone_bin), "obscure", "-"], (pw + "\n").encode()) for pw in PASSWORDS]
    )
    for pw, res in zip(PASSWORDS, results, strict=True):
        assert res.returncode == 0, res.stderr
        assert reveal(res.stdout.decode().strip()) == pw


def test_reveal_what_rclone_obscured_in_bulk(rclone_bin: Path):
    # Many random values (newlines and control characters too) in one rclone call via the rc
    # batch API, which runs rclone's own obscure.Obscure for each.
    rng = random.Random(1234)
    alphabet = [chr(c) for c in range(1, 0x250)] + list("密码🔑👩\u200d🔬\U0010fffd\n\r\t")
    values = ["".join(rng.choices(alphabet, k=rng.randrange(0, 70))) for _ in range(200)]
    batch = {"inputs": [{"_path": "core/obscure", "clear": v} for v in values]}
    res = subprocess.run(
        [str(rclone_bin), "rc", "--loopback", "job/batch", "--json", json.dumps(batch)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    obscured = [r["obscured"] for r in json.loads(res.stdout)["results"]]
    assert [reveal(o) for o in obscured] == values


def test_rclone_reveals_what_we_obscured(rclone_bin: Path):
    cases = [(pw, None) for pw in PASSWORDS] + [
        ("x" * 40, b"\xff" * 16),  # counter wraps around 2**128
        ("y" * 40, bytes(8) + b"\xff" * 8),  # carry from the low into the high 64 bits
        ("z" * 40, bytes(16)),
        ("dash", b"\xf8" + bytes(15)),  # the obscured value starts with "-"
    ]
    values = [obscure(pw, iv=iv) for pw, iv in cases]
    assert values[-1].startswith("-")
    results = _run_all([(_reveal_argv(rclone_bin, v), None) for v in values])
    for (pw, _), res in zip(cases, results, strict=True):
        assert res.returncode == 0, res.stderr
        assert res.stdout.decode() == pw + "\n"


# The same malformed values go to rclone; it must reject them with the same message.
BAD_VALUES = {
    "": "input too short",
    "YWJj": "input too short",  # 3 bytes
    "ZzKy9eomc3xy9lh4G5nc": "input too short",  # 15 bytes, one short of an IV
    "ZzKy9eomc3xy9lh4G5ncx": "base64 decode failed",  # 21 chars: length % 4 == 1
    "ZzKy9eomc3xy9lh4G5ncxu-R7w=": "base64 decode failed",  # padding is not allowed
    "ZzKy9eomc3xy9lh4G5ncxu+R7w": "base64 decode failed",  # standard, not URL-safe, alphabet
    "ZzKy9eomc3xy9lh4 G5ncxu-R7w": "base64 decode failed",  # space
    "not an obscured password": "base64 decode failed",
    "pässwörd-but-longer-than-16": "base64 decode failed",
}


def test_malformed_values_are_rejected_like_rclone(rclone_bin: Path):
    results = _run_all([(_reveal_argv(rclone_bin, v), None) for v in BAD_VALUES])
    for (value, message), res in zip(BAD_VALUES.items(), results, strict=True):
        with pytest.raises(ValueError, match=message) as caught:
            reveal(value)
        assert "is it obscured?" in str(caught.value)
        assert res.returncode != 0, (value, res.stdout)
        assert message in res.stderr.decode(), (value, res.stderr)


def test_go_base64_leniencies_match_rclone(rclone_bin: Path):
    # Go skips \r and \n anywhere and ignores stray low bits in the last character;
    # an IV with an empty ciphertext is the empty password.
    values = [
        "ZzKy9eomc3xy9lh4G5ncxu-R7w\n",
        "\nZzKy9eom\r\nc3xy9lh4G5ncxu-R7w",
        "ZzKy9eomc3xy9lh4G5ncxu-R7x",
        "ZzKy9eomc3xy9lh4G5ncxu",
    ]
    results = _run_all([(_reveal_argv(rclone_bin, v), None) for v in values])
    for value, res in zip(values, results, strict=True):
        assert res.returncode == 0, res.stderr
        assert (reveal(value) + "\n").encode() == res.stdout


def test_non_utf8_plaintext(rclone_bin: Path):
    # rclone returns the raw bytes; reveal() refuses them as text, reveal_bytes() gives them.
    raw = b"\xff\xfe latin-1 \xe9"
    value = obscure(raw)
    with pytest.raises(ValueError, match="not UTF-8"):
        reveal(value)
    assert reveal_bytes(value) == raw
    res = subprocess.run(
        _reveal_argv(rclone_bin, value), capture_output=True, timeout=60, check=False
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout == raw + b"\n"


def test_obscure_argument_errors():
    with pytest.raises(ValueError, match="IV must be 16 bytes"):
        obscure("x", iv=b"short")
    with pytest.raises(ValueError):
        obscure("lone surrogate \ud800")  # not encodable as UTF-8


def test_obscure_output_shape():
    value = obscure("hunter2")
    assert len(value) == (16 + 7) * 4 // 3 + 1  # 23 bytes -> 31 chars, no padding
    assert "=" not in value and "+" not in value and "/" not in value
    assert obscure("hunter2") != value  # fresh random IV each time
    assert obscure("hunter2", iv=bytes(16)) == obscure("hunter2", iv=bytes(16))


# ---------------------------------------------------------------------------- properties


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8")))
def test_round_trip_text(plain: str):
    assert reveal(obscure(plain)) == plain


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=100), st.binary(min_size=16, max_size=16))
def test_round_trip_bytes(plain: bytes, iv: bytes):
    value = obscure(plain, iv=iv)
    assert reveal_bytes(value) == plain
    assert reveal_iv(value) == iv
