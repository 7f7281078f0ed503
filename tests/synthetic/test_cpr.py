import numpy as np
import pytest

from synthetic.cpr import assign_cpr_numbers, birth_century, parse_cpr


def _births(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    births = np.datetime64("1920-01-01") + rng.integers(0, 365 * 45, n).astype("timedelta64[D]")
    return births, rng.random(n) < 0.5


def test_numbers_have_ten_digits_and_encode_the_birth_date_and_sex():
    births, male = _births(2_000)
    numbers = assign_cpr_numbers(births, male, seed=1)
    for cpr, birth, is_male in zip(numbers, births, male, strict=True):
        assert len(cpr) == 10
        assert cpr.isdigit()
        assert parse_cpr(cpr) == (str(birth), "M" if is_male else "K")


def test_numbers_are_unique_even_when_many_share_a_birth_date():
    births = np.full(1_500, np.datetime64("1930-05-17"))
    male = np.arange(1_500) % 2 == 0
    numbers = assign_cpr_numbers(births, male, seed=3)
    assert len(set(numbers)) == numbers.size


def test_serials_vary_between_birth_dates():
    births, male = _births(500, seed=4)
    serials = {cpr[6:] for cpr in assign_cpr_numbers(births, male, seed=4)}
    assert len(serials) > 400


@pytest.mark.parametrize(
    ("seventh", "year", "century"),
    [(0, 50, 1900), (3, 10, 1900), (4, 36, 2000), (4, 37, 1900), (9, 20, 2000), (5, 57, 2000), (8, 58, 1800)],
)
def test_the_seventh_digit_and_year_give_the_century(seventh, year, century):
    assert birth_century(seventh, year) == century


def test_the_same_seed_gives_the_same_numbers_and_another_seed_others():
    births, male = _births(300, seed=5)
    first = assign_cpr_numbers(births, male, seed=9)
    assert (first == assign_cpr_numbers(births, male, seed=9)).all()
    assert (first != assign_cpr_numbers(births, male, seed=10)).any()


def test_malformed_numbers_are_refused():
    with pytest.raises(ValueError, match="10 digits"):
        parse_cpr("12345")
