from rcwiz.rclone.about import about_argv


def test_about_argv():
    assert about_argv("nc:") == ("about", "nc:", "--json")
