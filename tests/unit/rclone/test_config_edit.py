"""rclone.conf is edited one section at a time; every other byte stays as it was."""

import pytest

from rcwiz import errors
from rcwiz.rclone.config_edit import with_section

OTHERS = """# my own comment, keep me
[alpha]
type = local

[beta]
type = webdav
url = https://example.org/dav
pass = OBSCURED

"""


def test_append_keeps_everything_before_byte_for_byte():
    new = with_section(OTHERS, "gamma", {"type": "webdav", "url": "http://x/"}, replace=False)
    assert new.startswith(OTHERS)
    assert new[len(OTHERS) :] == "[gamma]\ntype = webdav\nurl = http://x/\n"


def test_append_to_file_without_trailing_newline_and_to_empty_file():
    assert with_section("[a]\ntype = local", "b", {"type": "local"}, replace=False) == (
        "[a]\ntype = local\n\n[b]\ntype = local\n"
    )
    assert with_section("", "b", {"type": "local"}, replace=False) == "[b]\ntype = local\n"


def test_existing_name_is_refused_without_replace():
    with pytest.raises(errors.ConfigError, match="already exists"):
        with_section(OTHERS, "beta", {"type": "local"}, replace=False)


def test_replace_changes_only_that_section():
    new = with_section(OTHERS, "alpha", {"type": "webdav", "user": "u"}, replace=True)
    assert new == OTHERS.replace("[alpha]\ntype = local\n", "[alpha]\ntype = webdav\nuser = u\n")


def test_replace_last_section():
    new = with_section(OTHERS, "beta", {"type": "local"}, replace=True)
    head = OTHERS[: OTHERS.index("[beta]")]
    assert new == head + "[beta]\ntype = local\n\n"


def test_section_name_must_match_exactly():
    text = "[nextcloud2]\ntype = local\n"
    new = with_section(text, "nextcloud", {"type": "webdav"}, replace=False)
    assert new == text + "\n[nextcloud]\ntype = webdav\n"
