"""Numbers, dates and times as Danish (and English) readers write them, in Copenhagen time."""

from __future__ import annotations

import datetime as dt

from review.formatting import date, datetime, number, percent, points


def test_danish_numbers_use_a_decimal_comma_and_a_spaced_percent_sign():
    assert percent(0.812) == "81,2\u00a0%"
    assert number(1234.5) == "1.234,5"
    assert percent(None) == "–"


def test_english_numbers_use_a_decimal_point():
    assert percent(0.812, "en") == "81.2\u00a0%"
    assert number(1234.5, "en") == "1,234.5"


def test_a_change_in_points_carries_its_sign_and_zero_has_none():
    assert points(0.05) == "+5,0"
    assert points(-0.0123) == "−1,2"
    assert points(0.0001) == "0,0"


def test_dates_read_as_danish_dates():
    assert date("2026-12-01") == "1. dec. 2026"
    assert date(dt.date(2026, 5, 3), "en") == "3 May 2026"
    assert date("not a date") == "not a date"
    assert date(None) == "–"


def test_times_are_shown_in_copenhagen_time_winter_and_summer():
    assert datetime(dt.datetime(2026, 12, 1, 13, 5)) == "1. dec. 2026 kl. 14.05"  # naive = UTC, CET +1
    assert datetime(dt.datetime(2026, 7, 1, 13, 5, tzinfo=dt.UTC)) == "1. jul. 2026 kl. 15.05"  # CEST +2
    assert datetime(dt.datetime(2026, 12, 1, 13, 5), "en") == "1 Dec 2026, 14:05"
