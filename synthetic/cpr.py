"""Synthetic CPR numbers in the real format: ``DDMMYYSSSS`` (stored without the dash).

The 7th digit with YY gives the century (0–3: 1900s; 4 or 9: 2000s if YY <= 36 else 1900s; 5–8: 2000s if
YY <= 57 else 1800s) and the last digit's parity gives the sex (odd male). Mod-11 is neither used nor
avoided: like numbers issued since 2007, some pass it and some do not.
"""

from __future__ import annotations

import numpy as np


def birth_century(seventh_digit: int, two_digit_year: int) -> int:
    """The century (1800, 1900 or 2000) a CPR number's 7th digit and year give."""
    if seventh_digit <= 3:
        return 1900
    if seventh_digit in (4, 9):
        return 2000 if two_digit_year <= 36 else 1900
    return 2000 if two_digit_year <= 57 else 1800


def _serial_candidates(two_digit_year_over_36: bool, male: bool) -> np.ndarray:
    """Every 4-digit serial valid for a 1900s birth with that year class and sex, in a fixed order."""
    serials = np.arange(10_000)
    seventh = serials // 1000
    allowed = seventh <= 3
    if two_digit_year_over_36:
        allowed |= (seventh == 4) | (seventh == 9)
    allowed &= (serials % 2 == 1) == male
    return serials[allowed]


def assign_cpr_numbers(birth_dates: np.ndarray, male: np.ndarray, seed: int) -> np.ndarray:
    """Unique CPR numbers (10-digit strings) for people born in the 1900s.

    Serials are handed out by rank within each (birth date, sex) group through a seeded permutation of
    the valid serials, so numbers are unique and depend only on the inputs and the seed.
    ``birth_dates`` is ``datetime64[D]``; ``male`` is boolean.
    """
    days = birth_dates.astype("datetime64[D]").astype(np.int64)
    years = birth_dates.astype("datetime64[Y]").astype(np.int64) + 1970
    if years.size and (years.min() < 1900 or years.max() > 1999):
        raise ValueError("assign_cpr_numbers supports birth years 1900–1999 only")
    order = np.lexsort((np.arange(days.size), male, days))
    group = days[order] * 2 + male[order]
    starts = np.r_[0, np.flatnonzero(np.diff(group)) + 1] if group.size else np.array([], dtype=int)
    rank_sorted = np.arange(group.size) - np.repeat(starts, np.diff(np.r_[starts, group.size]))
    rank = np.empty_like(rank_sorted)
    rank[order] = rank_sorted
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2_024_011]))
    tables = {
        (over, sex): rng.permutation(_serial_candidates(over, sex))
        for over in (False, True)
        for sex in (False, True)
    }
    over_36 = (years % 100) > 36
    serial = np.empty(days.size, dtype=np.int64)
    for (over, sex), table in tables.items():
        selected = (over_36 == over) & (male == sex)
        if np.any(rank[selected] >= table.size):
            raise ValueError("more people share a birth date and sex than CPR serials exist")
        # a per-date offset spreads serials, so the first person born on each date differs
        offset = (days[selected] * 7_919 + seed) % table.size
        serial[selected] = table[(rank[selected] + offset) % table.size]
    dates = birth_dates.astype("datetime64[D]")
    day = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    month = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    numbers = day * 10**8 + month * 10**6 + (years % 100) * 10**4 + serial
    return np.char.zfill(numbers.astype(str), 10)


def parse_cpr(cpr: str) -> tuple[str, str]:
    """(ISO birth date, sex `M`/`K`) from a 10-digit CPR number; raises ValueError if malformed."""
    if len(cpr) != 10 or not cpr.isdigit():
        raise ValueError("a CPR number has 10 digits")
    day, month, year = int(cpr[0:2]), int(cpr[2:4]), int(cpr[4:6])
    century = birth_century(int(cpr[6]), year)
    sex = "M" if int(cpr[9]) % 2 == 1 else "K"
    return f"{century + year:04d}-{month:02d}-{day:02d}", sex
