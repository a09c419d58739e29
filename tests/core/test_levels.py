"""grader.levels: percentiles of grey levels from histograms are numpy's, exactly."""
import numpy as np
import pytest

from grader.levels import median_abs_deviation_u8, percentile_u8

QUANTILES = (0, 0.5, 2, 10, 37.5, 50, 90, 99.9, 100)


def _samples(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 12000))
    kind = seed % 3
    if kind == 0:
        return rng.integers(0, 256, n).astype(np.uint8)
    if kind == 1:                                      # paper: few distinct levels
        return np.clip(rng.integers(0, 256, n), 180, 240).astype(np.uint8)
    return np.clip(rng.normal(200, 25, n), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("seed", range(30))
def test_percentiles_are_numpys(seed):
    values = _samples(seed)
    for q in QUANTILES:
        assert percentile_u8(values, q) == float(np.percentile(values, q)), q


@pytest.mark.parametrize("seed", range(30))
def test_median_absolute_deviation_is_numpys(seed):
    values = _samples(seed)
    expected = float(np.median(np.abs(values.astype(np.float64) - np.median(values))))
    assert median_abs_deviation_u8(values) == expected


@pytest.mark.parametrize("values, q, expected", [
    ([7], 50, 7.0),
    ([0, 255], 50, 127.5),
    ([10, 20, 30, 40], 50, 25.0),
    ([10, 20, 30, 40], 90, 37.0),
    ([255] * 5 + [0], 0, 0.0),
])
def test_small_tables(values, q, expected):
    assert percentile_u8(np.array(values, dtype=np.uint8), q) == pytest.approx(expected)


def test_a_2d_region_and_no_values():
    region = np.full((40, 30), 230, dtype=np.uint8)
    region[10:12, 5:25] = 20                           # a stroke
    assert percentile_u8(region, 90) == 230.0
    assert median_abs_deviation_u8(region) == 0.0
    with pytest.raises(ValueError):
        percentile_u8(np.array([], dtype=np.uint8), 50)
