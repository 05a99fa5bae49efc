"""The forecast on synthetic histories (no clock, no server)."""

import json

import pytest

from rcwiz.quota.history import DAY, Sample, append, forecast, load, sparkline
from rcwiz.quota.report import Row, overall_state, state_of, with_preset
from rcwiz.rclone.about import Usage

GB = 10**9


def series(used_per_day, total=100 * GB, start=1_700_000_000.0):
    return [Sample(start + i * DAY, "nc:", used, total) for i, used in enumerate(used_per_day)]


def test_not_enough_data():
    assert forecast([]).status == "not enough data"
    assert forecast(series([10 * GB])).status == "not enough data"


def test_minutes_of_samples_forecast_nothing():
    """2 GiB in ten minutes is no daily rate: a forecast needs days of samples."""
    start = 1_700_000_000.0
    minutes = [
        Sample(start + 60 * i, "nc:", 10 * GB + i * 200 * 10**6, 100 * GB) for i in range(11)
    ]
    guess = forecast(minutes)
    assert guess.status == "not enough data" and guess.days_to_full is None
    assert "days of samples" in guess.describe()
    assert forecast(series([10 * GB, 11 * GB])).status == "not enough data"  # one day
    assert forecast(series([10 * GB, 11 * GB, 12 * GB])).status == "growing"  # two days
    same_moment = [Sample(5.0, "nc:", 1, 10), Sample(5.0, "nc:", 2, 10)]
    assert forecast(same_moment).status == "not enough data"


@pytest.mark.parametrize("used", [[50 * GB] * 5, [60 * GB, 55 * GB, 50 * GB]])
def test_flat_or_shrinking_is_not_growing(used):
    guess = forecast(series(used))
    assert guess.status == "not growing" and guess.days_to_full is None
    assert guess.describe() == "not growing"


def test_steady_growth_gives_days_until_full():
    guess = forecast(series([10 * GB, 12 * GB, 14 * GB, 16 * GB]))  # 2 GB a day, 84 GB free
    assert guess.status == "growing"
    assert guess.rate_per_day == pytest.approx(2 * GB)
    assert guess.days_to_full == pytest.approx(42)
    assert guess.describe() == "full in about 42 days"


def test_noisy_growth_uses_the_trend():
    guess = forecast(series([10 * GB, 13 * GB, 12 * GB, 15 * GB, 14 * GB]))
    assert guess.rate_per_day == pytest.approx(1 * GB)


def test_only_recent_samples_count():
    old = series([0, 50 * GB], start=0.0)  # fast growth long ago
    recent = series([60 * GB, 60 * GB, 61 * GB], start=400 * DAY)
    guess = forecast(old + recent)
    assert guess.rate_per_day == pytest.approx(0.5 * GB)


def test_full_and_unknown_total():
    assert forecast(series([90 * GB, 100 * GB])).status == "full"
    unknown = forecast(series([1 * GB, 2 * GB, 3 * GB], total=None))
    assert unknown.status == "growing" and unknown.days_to_full is None


def test_history_file_round_trip_skips_damaged_lines(tmp_path):
    path = tmp_path / "quota.jsonl"
    append(series([1, 2]), pytest.fail, path)
    with open(path, "a") as handle:
        handle.write("not json\n" + json.dumps({"time": "x"}) + "\n")
    append([Sample(1.0, "b:", 5, None)], pytest.fail, path)
    samples = load(path)
    assert [s.used for s in samples] == [5, 1, 2]  # oldest first
    assert load(tmp_path / "missing.jsonl") == []


def test_sparkline_scales_to_the_quota():
    assert sparkline(series([0, 50 * GB, 100 * GB])) == "▁▅█"
    assert sparkline([]) == ""


def test_states_and_their_order():
    assert state_of(Usage("a:", 100, 79, 21), 80, 95) == "ok"
    assert state_of(Usage("a:", 100, 80, 20), 80, 95) == "warning"
    assert state_of(Usage("a:", 100, 95, 5), 80, 95) == "critical"
    assert state_of(Usage("a:"), 80, 95) == "unknown"
    rows = [Row("a:", state="ok"), Row("b:", state="unknown"), Row("c:", state="warning")]
    assert overall_state(rows) == "warning"
    assert overall_state(rows[:2]) == "unknown"
    assert overall_state([]) == "ok"


def test_a_fixed_site_quota_fills_in_a_silent_server():
    from rcwiz.presets import load_all

    alliance = load_all()["alliance"]
    usage = with_preset(Usage("nc:", used=50 * 2**30), alliance)
    assert (usage.total, usage.free) == (100 * 2**30, 50 * 2**30)
    assert with_preset(Usage("nc:", total=5, used=1, free=4), alliance).total == 5
