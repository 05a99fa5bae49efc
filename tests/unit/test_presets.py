import pytest

from rcwiz import errors
from rcwiz.presets import for_url, load_all, load_file


def test_shipped_presets_load_in_menu_order():
    presets = load_all()
    assert list(presets)[:3] == ["alliance", "nextcloud", "webdav"]
    alliance = presets["alliance"]
    assert alliance.server == "https://nextcloud.computecanada.ca"
    assert alliance.vendor == "nextcloud"
    assert alliance.quota_bytes == 100 * 2**30
    assert any("Globus" in line for line in alliance.notes())
    assert any("offsite" in line for line in alliance.notes())
    assert presets["webdav"].kind == "webdav" and "other" in presets["webdav"].vendors


def test_preset_is_found_by_url():
    url = "https://nextcloud.computecanada.ca/remote.php/dav/files/jdoe/"
    assert for_url(url).name == "alliance"
    assert for_url("https://cloud.example.org/remote.php/dav/files/jdoe/") is None


def test_a_bad_preset_reports_every_problem(tmp_path):
    bad = tmp_path / "site.yaml"
    bad.write_text("name: other\ntitle: 3\nkind: ftp\nvendor: nextcloud\nsrever: x\n")
    with pytest.raises(errors.UsageError) as info:
        load_file(bad)
    message = info.value.message
    for expected in (
        "'remote_name' is missing",
        "unknown key 'srever'",
        "'title' must be a str",
        "'kind' must be one of",
        "'name' must be 'site'",
    ):
        assert expected in message
    assert info.value.exit_code == 2


def test_adding_a_site_is_adding_a_file(tmp_path):
    (tmp_path / "uni.yaml").write_text(
        "name: uni\ntitle: Uni cloud\nkind: nextcloud\nserver: https://cloud.uni.example\n"
        "vendor: nextcloud\nremote_name: uni\n"
    )
    assert list(load_all(tmp_path)) == ["uni"]
