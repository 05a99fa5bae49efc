"""rclone's password obscuring, done in-process (no `rclone reveal VALUE` in anyone's `ps`).

This is a faithful port of rclone's `fs/config/obscure`:

* the cipher is AES-256 in CTR mode under a fixed key that is public (it is in rclone's
  source), so "obscured" means *not readable at a glance*, not encrypted;
* a value is `base64.RawURLEncoding(IV[16] + ciphertext)`: URL-safe alphabet, no padding;
* CTR is Go's `cipher.NewCTR`: the IV is a 128-bit big-endian counter, incremented per block.

AES is implemented here in plain Python (forward cipher only, which is all CTR needs), so
no dependency is added. It is slow by crypto standards but passwords are a few blocks long.
"""

from __future__ import annotations

import binascii
import os
import re

BLOCK_SIZE = 16

# The key from rclone's fs/config/obscure/obscure.go (`cryptKey`).
CRYPT_KEY = bytes.fromhex("9c935b48730a554d6bfd7c63c886a92bd390198eb8128afbf4de162b8b95f638")

# ---------------------------------------------------------------------------- AES (FIPS-197)


def _xtime(a: int) -> int:
    """Multiply A by x (i.e. by 2) in GF(2^8) modulo the AES polynomial x^8+x^4+x^3+x+1."""
    a <<= 1
    return (a ^ 0x11B) if a & 0x100 else a


def _make_sbox() -> bytes:
    """The AES S-box: the multiplicative inverse in GF(2^8) (0 maps to 0), then the affine
    transform b ^ rotl(b,1) ^ rotl(b,2) ^ rotl(b,3) ^ rotl(b,4) ^ 0x63 (FIPS-197 5.1.1)."""
    # 3 generates the multiplicative group of GF(2^8): every nonzero a is 3**i for one i in
    # 0..254, and its inverse is 3**(255 - i).
    power = [1] * 255
    for i in range(1, 255):
        power[i] = power[i - 1] ^ _xtime(power[i - 1])  # times 3 = times 2 plus itself
    inverse = [0] * 256
    for i, a in enumerate(power):
        inverse[a] = power[-i % 255]

    def rotl8(x: int, n: int) -> int:
        return ((x << n) | (x >> (8 - n))) & 0xFF

    return bytes(b ^ rotl8(b, 1) ^ rotl8(b, 2) ^ rotl8(b, 3) ^ rotl8(b, 4) ^ 0x63 for b in inverse)


SBOX = _make_sbox()
_ROUNDS = 14  # AES-256: Nk = 8 key words, Nr = 14 rounds


def expand_key(key: bytes) -> list[list[int]]:
    """AES-256 key expansion: 15 round keys of 16 bytes each (FIPS-197 5.2)."""
    if len(key) != 32:
        raise ValueError(f"AES-256 needs a 32-byte key, got {len(key)} bytes")
    words = [list(key[i : i + 4]) for i in range(0, 32, 4)]
    rcon = 1
    for i in range(8, 4 * (_ROUNDS + 1)):
        temp = list(words[i - 1])
        if i % 8 == 0:
            temp = temp[1:] + temp[:1]  # RotWord
            temp = [SBOX[b] for b in temp]  # SubWord
            temp[0] ^= rcon
            rcon = _xtime(rcon)
        elif i % 8 == 4:
            temp = [SBOX[b] for b in temp]  # the extra SubWord of 256-bit keys
        words.append([a ^ b for a, b in zip(words[i - 8], temp, strict=True)])
    return [[b for word in words[4 * r : 4 * r + 4] for b in word] for r in range(_ROUNDS + 1)]


def encrypt_block(round_keys: list[list[int]], block: bytes) -> bytes:
    """Encrypt one 16-byte block. The state is column-major: state[row + 4*col]."""
    if len(block) != BLOCK_SIZE:
        raise ValueError(f"AES block must be {BLOCK_SIZE} bytes, got {len(block)}")
    state = [b ^ k for b, k in zip(block, round_keys[0], strict=True)]
    for rnd in range(1, _ROUNDS + 1):
        state = [SBOX[b] for b in state]  # SubBytes
        # ShiftRows: row r rotates left by r columns.
        state = [state[r + 4 * ((c + r) % 4)] for c in range(4) for r in range(4)]
        if rnd != _ROUNDS:  # MixColumns (skipped in the final round)
            mixed = []
            for c in range(4):
                a0, a1, a2, a3 = state[4 * c : 4 * c + 4]
                t = a0 ^ a1 ^ a2 ^ a3
                # 2*a_i ^ 3*a_{i+1} ^ a_{i+2} ^ a_{i+3}  ==  a_i ^ t ^ 2*(a_i ^ a_{i+1})
                mixed += [
                    a0 ^ t ^ _xtime(a0 ^ a1),
                    a1 ^ t ^ _xtime(a1 ^ a2),
                    a2 ^ t ^ _xtime(a2 ^ a3),
                    a3 ^ t ^ _xtime(a3 ^ a0),
                ]
            state = mixed
        state = [b ^ k for b, k in zip(state, round_keys[rnd], strict=True)]  # AddRoundKey
    return bytes(state)


def aes_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-CTR as Go's cipher.NewCTR: the IV is a 128-bit big-endian counter that wraps.
    Encryption and decryption are the same operation."""
    if len(iv) != BLOCK_SIZE:
        raise ValueError(f"IV must be {BLOCK_SIZE} bytes, got {len(iv)}")
    round_keys = _CRYPT_ROUND_KEYS if key == CRYPT_KEY else expand_key(key)
    counter = int.from_bytes(iv, "big")
    out = bytearray()
    for start in range(0, len(data), BLOCK_SIZE):
        keystream = encrypt_block(round_keys, counter.to_bytes(BLOCK_SIZE, "big"))
        chunk = data[start : start + BLOCK_SIZE]  # the last one may be short
        out += bytes(d ^ k for d, k in zip(chunk, keystream[: len(chunk)], strict=True))
        counter = (counter + 1) % (1 << 128)
    return bytes(out)


_CRYPT_ROUND_KEYS = expand_key(CRYPT_KEY)

# ---------------------------------------------------------------------------- rclone's format

# Go's base64.RawURLEncoding: URL-safe alphabet, no '=' padding; '\r' and '\n' are skipped.
_RAW_URL_B64 = re.compile(r"[A-Za-z0-9_-]*")


def _b64decode_like_go(value: str) -> bytes:
    """Decode as Go's base64.RawURLEncoding.DecodeString does (non-strict: stray low bits in
    the last character are ignored), raising ValueError on anything Go would reject."""
    text = value.replace("\r", "").replace("\n", "")
    if not _RAW_URL_B64.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("base64 decode failed when revealing password - is it obscured?")
    try:
        return binascii.a2b_base64(
            text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4)
        )
    except binascii.Error as exc:  # not reachable after the checks above, but be explicit
        raise ValueError("base64 decode failed when revealing password - is it obscured?") from exc


def reveal_bytes(obscured: str) -> bytes:
    """The plaintext bytes of an rclone-obscured value (exactly what rclone's Reveal returns)."""
    raw = _b64decode_like_go(obscured)
    if len(raw) < BLOCK_SIZE:
        raise ValueError("input too short when revealing password - is it obscured?")
    return aes_ctr(CRYPT_KEY, raw[:BLOCK_SIZE], raw[BLOCK_SIZE:])


def reveal(obscured: str) -> str:
    """The plaintext of an rclone-obscured value, as text.

    rclone hands back arbitrary bytes; a password is text, so bytes that are not UTF-8
    (almost always: a value that was never obscured) raise ValueError. Use reveal_bytes()
    for the raw bytes.
    """
    plain = reveal_bytes(obscured)
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(
            "revealed value is not UTF-8 text when revealing password - is it obscured?"
        ) from None


def obscure(plain: str | bytes, iv: bytes | None = None) -> str:
    """Obscure PLAIN the way `rclone obscure` does. IV (16 bytes) defaults to os.urandom; pass
    one only for reproducible tests."""
    data = plain if isinstance(plain, bytes) else plain.encode("utf-8")
    if iv is None:
        iv = os.urandom(BLOCK_SIZE)
    if len(iv) != BLOCK_SIZE:
        raise ValueError(f"IV must be {BLOCK_SIZE} bytes, got {len(iv)}")
    encoded = binascii.b2a_base64(iv + aes_ctr(CRYPT_KEY, iv, data), newline=False).decode()
    return encoded.replace("+", "-").replace("/", "_").rstrip("=")
