"""The size of an unfinished chunked upload, read from a real Nextcloud 30 PROPFIND answer."""

from __future__ import annotations

from pathlib import Path

from rcwiz.nextcloud.uploads import _chunk_bytes

CAPTURED = Path(__file__).parents[2] / "data" / "nextcloud" / "upload-session-propfind.xml"


def test_the_virtual_file_entry_is_not_counted_twice():
    # captured: a session with chunks of 1000 and 2500 bytes, and Nextcloud's `.file` (3500)
    assert _chunk_bytes(CAPTURED.read_text()) == 3500
