"""The paired bootstrap: exact, deterministic, sign-aware, and the same on any thread count."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.core import significance
from bot.core.significance import ScoresError, improvements, paired_bootstrap, uniform_indices


def continuous(n: int, shift: float = 0.01, seed: int = 1) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(seed)
    champion = rng.normal(0.5, 0.2, n)
    candidate = champion + shift + rng.normal(0, 0.1, n)
    return candidate.tolist(), champion.tolist()


def reference_means(diff: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """The textbook bootstrap, drawing the very same indices chunk by chunk."""
    n = diff.size
    per_chunk = max(1, significance._CHUNK_DRAWS // n)
    starts = list(range(0, resamples, per_chunk))
    children = np.random.SeedSequence(seed).spawn(len(starts))
    means = []
    for child, start in zip(children, starts, strict=True):
        rows = min(per_chunk, resamples - start)
        index = uniform_indices(np.random.default_rng(child), n, rows * n).reshape(rows, n)
        means.extend(diff[index].mean(axis=1))
    return np.array(means)


def test_index_method_is_the_textbook_bootstrap() -> None:
    cand, champ = continuous(5000)
    result = paired_bootstrap(cand, champ, resamples=500, seed=11, confidence=0.9)
    assert result.method == "indices"
    diff = np.asarray(cand) - np.asarray(champ)
    low, high = np.quantile(reference_means(diff, 500, 11), [0.05, 0.95])
    assert result.low == pytest.approx(low, rel=1e-9)
    assert result.high == pytest.approx(high, rel=1e-9)
    assert result.estimate == pytest.approx(diff.mean())


def test_same_distribution_as_numpy_integers() -> None:
    """Our index draws and numpy's `integers` give the same bootstrap distribution."""
    cand, champ = continuous(2000)
    diff = np.asarray(cand) - np.asarray(champ)
    rng = np.random.default_rng(9)
    ours = diff[uniform_indices(rng, diff.size, 4000 * diff.size).reshape(4000, -1)].mean(axis=1)
    theirs = diff[rng.integers(0, diff.size, size=(4000, diff.size))].mean(axis=1)
    spread = theirs.std()
    for q in (0.025, 0.5, 0.975):
        assert np.quantile(ours, q) == pytest.approx(np.quantile(theirs, q), abs=0.1 * spread)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 1000, 100_000, 2**31 - 1])
@pytest.mark.parametrize("size", [0, 1, 11, 4096])
def test_uniform_indices_shape_and_range(n: int, size: int) -> None:
    index = uniform_indices(np.random.default_rng(0), n, size)
    assert index.dtype == np.intp and index.shape == (size,)
    assert size == 0 or (index.min() >= 0 and index.max() < n)


@pytest.mark.parametrize("n", [3, 7, 10, 1000])
def test_uniform_indices_are_uniform(n: int) -> None:
    size = 200 * n * 10
    counts = np.bincount(uniform_indices(np.random.default_rng(n), n, size), minlength=n)
    expected = size / n
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    # chi-square with n-1 degrees of freedom: mean n-1, sd sqrt(2(n-1)); allow 6 sd
    assert chi2 < (n - 1) + 6 * math.sqrt(2 * (n - 1))


def test_rejected_draws_are_replaced() -> None:
    n = 3  # k = 1431655765, k*n = 2**32 - 1: the draw 2**32 - 1 must be rejected
    top = np.uint64(2**32 - 1)

    class Scripted:
        def __init__(self) -> None:
            self.calls: list[tuple[int, int]] = []

        def integers(self, low: int, high: int, size: int, dtype: object = None) -> np.ndarray:
            self.calls.append((high, size))
            if dtype is np.uint64:  # two 32-bit words per uint64: [0, 2**32-1], [2**32-1, 5]
                return np.array(
                    [top << np.uint64(32), (np.uint64(5) << np.uint64(32)) | top], dtype=np.uint64
                )
            return np.full(size, 2, dtype=np.int64)

    rng = Scripted()
    index = uniform_indices(rng, n, 4)  # type: ignore[arg-type]
    assert index.tolist() == [0, 2, 2, 0]
    assert rng.calls == [(1 << 64, 2), (3, 2)]


def test_deterministic_for_a_seed_and_any_thread_count() -> None:
    cand, champ = continuous(3000)
    runs = [paired_bootstrap(cand, champ, resamples=3000, seed=5, threads=t) for t in (1, 2, 4)]
    assert runs[0] == runs[1] == runs[2]
    other = paired_bootstrap(cand, champ, resamples=3000, seed=6)
    assert other.interval != runs[0].interval


def test_interval_matches_normal_theory() -> None:
    cand, champ = continuous(20_000, shift=0.01)
    result = paired_bootstrap(cand, champ, resamples=2000, seed=0)
    diff = np.asarray(cand) - np.asarray(champ)
    half = 1.96 * diff.std(ddof=1) / math.sqrt(diff.size)
    assert result.low == pytest.approx(diff.mean() - half, abs=half * 0.1)
    assert result.high == pytest.approx(diff.mean() + half, abs=half * 0.1)
    assert result.improved


def test_multinomial_method_agrees_with_indices(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(2)
    champ = (rng.random(4000) < 0.90).astype(float)
    cand = np.where(rng.random(4000) < 0.05, 1.0, champ)
    fast = paired_bootstrap(cand.tolist(), champ.tolist(), resamples=4000, seed=1)
    assert fast.method == "multinomial"
    monkeypatch.setattr(significance, "DISTINCT_LIMIT", 0)
    slow = paired_bootstrap(cand.tolist(), champ.tolist(), resamples=4000, seed=1)
    assert slow.method == "indices"
    width = slow.high - slow.low
    assert fast.estimate == slow.estimate
    assert fast.low == pytest.approx(slow.low, abs=0.1 * width)
    assert fast.high == pytest.approx(slow.high, abs=0.1 * width)


@pytest.mark.parametrize(("goal", "sign"), [("maximize", 1.0), ("minimize", -1.0)])
def test_sign_follows_the_goal(goal: str, sign: float) -> None:
    cand, champ = continuous(2000, shift=0.05)
    result = paired_bootstrap(cand, champ, goal=goal, resamples=500)  # type: ignore[arg-type]
    assert math.copysign(1.0, result.estimate) == sign
    assert result.improved is (sign > 0)
    assert improvements([2.0], [1.0], goal).tolist() == [sign]  # type: ignore[arg-type]


def test_higher_confidence_is_wider() -> None:
    cand, champ = continuous(2000)
    narrow = paired_bootstrap(cand, champ, confidence=0.8)
    wide = paired_bootstrap(cand, champ, confidence=0.99)
    assert wide.low < narrow.low < narrow.high < wide.high


def test_no_difference_is_not_significant() -> None:
    cand, champ = continuous(2000, shift=0.0)
    assert not paired_bootstrap(cand, champ).improved
    same = paired_bootstrap([1.0, 0.0, 1.0], [1.0, 0.0, 1.0])
    assert (same.low, same.high, same.improved) == (0.0, 0.0, False)


@pytest.mark.parametrize(
    ("cand", "champ", "error", "message"),
    [
        ([1.0, 2.0], [1.0], ScoresError, "candidate has 2 scores, champion has 1"),
        ([1.0], [1.0], ValueError, "at least 2 paired examples"),
        ([], [], ValueError, "at least 2 paired examples"),
        ([1.0, math.nan], [1.0, 1.0], ValueError, "NaN or infinite"),
        ([1.0, 1.0], [1.0, math.inf], ValueError, "NaN or infinite"),
    ],
)
def test_bad_scores(cand: list[float], champ: list[float], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        paired_bootstrap(cand, champ)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"confidence": 1.0}, "confidence"),
        ({"confidence": 0.0}, "confidence"),
        ({"resamples": 0}, "resamples"),
    ],
)
def test_bad_parameters(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        paired_bootstrap([1.0, 0.0], [0.0, 1.0], **kwargs)  # type: ignore[arg-type]


def test_large_input_runs_in_chunks() -> None:
    cand, champ = continuous(100_000)
    result = paired_bootstrap(cand, champ, resamples=200, seed=0)
    assert result.n == 100_000 and result.resamples == 200 and result.improved
