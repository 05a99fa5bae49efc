import pytest

from rcwiz.actions.setup_questions import questions
from rcwiz.nextcloud.urls import nextcloud_server, nextcloud_url
from rcwiz.presets import load_all
from rcwiz.ui.wizard import Invalid


@pytest.mark.parametrize(
    ("typed", "server", "noted"),
    [
        ("https://cloud.example.org", "https://cloud.example.org", False),
        ("https://cloud.example.org/", "https://cloud.example.org", False),
        ("cloud.example.org", "https://cloud.example.org", True),
        ("https://cloud.example.org/remote.php/webdav/", "https://cloud.example.org", True),
        (
            "https://nextcloud.computecanada.ca/remote.php/dav/files/",
            "https://nextcloud.computecanada.ca",
            True,
        ),
        ("https://x.org/nc/remote.php/dav/files/jdoe/", "https://x.org/nc", True),
        ("https://x.org/nc/index.php/apps/files/", "https://x.org/nc", True),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080", False),
    ],
)
def test_server_addresses_are_corrected_with_a_note(typed, server, noted):
    corrected = nextcloud_server(typed)
    assert corrected.value == server
    assert (corrected.note is not None) == noted


def test_legacy_webdav_url_note_says_why():
    note = nextcloud_server("https://c.org/remote.php/webdav").note
    assert "legacy" in note and "/remote.php/dav/files/USER/" in note


@pytest.mark.parametrize("bad", ["", "   ", "ftp://x.org", "https://"])
def test_not_a_server(bad):
    with pytest.raises(Invalid):
        nextcloud_server(bad)


def test_url_is_built_with_the_user():
    assert nextcloud_url("https://nextcloud.computecanada.ca", "jdoe") == (
        "https://nextcloud.computecanada.ca/remote.php/dav/files/jdoe/"
    )
    assert nextcloud_url("https://c.org/", "Jane Doe") == (
        "https://c.org/remote.php/dav/files/Jane%20Doe/"
    )


def test_every_question_has_a_flag_and_flags_are_unique():
    asked = questions(load_all(), [])
    flags = [q.flag for q in asked]
    assert all(f.startswith("--") for f in flags)
    assert len(set(flags)) == len(flags)
