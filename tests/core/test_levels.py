"""grader.levels: percentiles of grey levels from histograms are numpy's, exactly."""
import numpy as np
import pytest

from grader.levels import (EXACT_FLOAT32_COUNT, histogram_u8, median_abs_deviation_of_counts,
                           percentile_u8)

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
    assert median_abs_deviation_of_counts(histogram_u8(values)) == expected


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
    assert median_abs_deviation_of_counts(histogram_u8(region)) == 0.0
    with pytest.raises(ValueError):
        percentile_u8(np.array([], dtype=np.uint8), 50)


def test_histograms_are_numpys_bincount():
    """OpenCV's counts (float32 bins) below 2**24 values, NumPy's from there: the same table
    for 1-D, 2-D, strided, transposed and 3-D arrays, empty ones and a page's worth."""
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (300, 410, 3), dtype=np.uint8)
    shaded = np.clip(rng.normal(230, 30, (2339, 1654)), 0, 255).astype(np.uint8)
    big = np.full(EXACT_FLOAT32_COUNT + 3, 255, np.uint8)
    big[:1000] = rng.integers(0, 256, 1000, dtype=np.uint8)
    for values in (image[:, :, 0], image[::2, 1::3, 1], image[:, :, 2].T, image, image[:0],
                   image.reshape(-1), shaded, big):
        expected = np.bincount(values.reshape(-1), minlength=256)
        got = histogram_u8(values)
        assert np.array_equal(got, expected) and got.dtype == expected.dtype
