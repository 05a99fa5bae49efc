"""A size just under a unit is shown in that unit, not as 1024.0 of the one below."""

from rcwiz.ui.format import size


def test_a_size_just_under_a_gib_reads_as_one_gib():
    assert size(2**30 - 84) == "1.0 GiB"  # a new Nextcloud account: "84 B used of 1.0 GiB"
    assert size(1023.9 * 2**20) == "1023.9 MiB"
    assert size(1023) == "1023 B" and size(1536) == "1.5 KiB"
