"""Paired bootstrap of the mean per-example improvement of a candidate over its champion.

Pure and deterministic for a given seed: the same scores, seed and resample count give the
same interval on any machine and any number of threads. numpy is imported inside the
functions so that `model-bot --help` never pays for it.

Two exact formulations, chosen by the data:

* few distinct per-example differences (0/1 correctness gives at most three: -1, 0, +1):
  a resample's sum depends only on how many draws land on each distinct value, so one
  multinomial draw per resample replaces `n` index draws;
* otherwise: `n` uniform indices per resample (`uniform_indices`: cheap full-range draws,
  exact by rejection), drawn in chunks, each chunk from its own child of `SeedSequence(seed)`
  so chunks can run on several threads (numpy releases the GIL) without changing the result.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import numpy.typing as npt

Goal = Literal["maximize", "minimize"]

# At most this many distinct differences: use the multinomial formulation.
DISTINCT_LIMIT = 64
# Index draws per chunk: ~8 MB of indices plus ~8 MB of gathered values, cache friendly.
_CHUNK_DRAWS = 1 << 20
# Below this many draws in total, threads cost more than they save.
_THREAD_MIN_DRAWS = 1 << 22


class ScoresError(ValueError):
    """The scores cannot be paired (different lengths); the message says which."""


@dataclass(frozen=True)
class BootstrapResult:
    """Mean improvement (positive = candidate better) and its percentile interval."""

    estimate: float
    low: float
    high: float
    confidence: float
    resamples: int
    seed: int
    n: int
    method: Literal["multinomial", "indices"]

    @property
    def interval(self) -> tuple[float, float]:
        return (self.low, self.high)

    @property
    def improved(self) -> bool:
        """The interval lies wholly on the improving side of zero."""
        return self.low > 0


def improvements(
    candidate: Sequence[float], champion: Sequence[float], goal: Goal = "maximize"
) -> npt.NDArray[np.float64]:
    """Per-example improvement, paired by index: candidate − champion (maximize) or reverse."""
    import numpy as np

    if len(candidate) != len(champion):
        raise ScoresError(
            f"candidate has {len(candidate)} scores, champion has {len(champion)} "
            "(per-example scores are paired by index: give both the same examples)"
        )
    cand = np.asarray(candidate, dtype=np.float64)
    champ = np.asarray(champion, dtype=np.float64)
    diff = cand - champ
    return diff if goal == "maximize" else -diff


def paired_bootstrap(
    candidate: Sequence[float],
    champion: Sequence[float],
    *,
    goal: Goal = "maximize",
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    threads: int | None = None,
) -> BootstrapResult:
    """Percentile bootstrap interval of the mean improvement of candidate over champion.

    Raises `ScoresError` for unpaired scores and `ValueError` for fewer than two examples,
    non-finite scores or bad parameters.
    """
    import numpy as np

    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if resamples < 1:
        raise ValueError(f"resamples must be positive, got {resamples}")
    diff = improvements(candidate, champion, goal)
    n = int(diff.size)
    if n < 2:
        raise ValueError(f"need at least 2 paired examples, got {n}")
    if not np.isfinite(diff).all():
        raise ValueError("scores contain NaN or infinite values")

    values, counts = np.unique(diff, return_counts=True)
    if values.size <= DISTINCT_LIMIT:
        means = _multinomial_means(values, counts, n, resamples, seed)
        method: Literal["multinomial", "indices"] = "multinomial"
    else:
        means = _index_means(diff, resamples, seed, threads)
        method = "indices"
    alpha = 1.0 - confidence
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return BootstrapResult(
        estimate=float(diff.mean()),
        low=float(low),
        high=float(high),
        confidence=confidence,
        resamples=resamples,
        seed=seed,
        n=n,
        method=method,
    )


def _multinomial_means(
    values: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    n: int,
    resamples: int,
    seed: int,
) -> npt.NDArray[np.float64]:
    """Exact: a resample's sum is Σ (draws landing on value v) · v, multinomial in the draws."""
    import numpy as np

    rng = np.random.default_rng(np.random.SeedSequence(seed))
    draws = rng.multinomial(n, counts / n, size=resamples)
    result: npt.NDArray[np.float64] = (draws @ values) / n
    return result


def uniform_indices(rng: np.random.Generator, n: int, size: int) -> npt.NDArray[np.intp]:
    """`size` independent, exactly uniform indices in [0, n), about twice as fast as
    `rng.integers(0, n, size)`: full-range 32-bit draws `r` are cheap, and for
    `r < k·n` (k = ⌊2³²/n⌋) the quotient `r // k` is exactly uniform. The rare rejected
    draws (probability < n/2³²) are replaced by independent uniform draws."""
    import numpy as np

    if not 0 < n < 2**31:
        raise ValueError(f"cannot index {n} examples")
    if n == 1:
        return np.zeros(size, dtype=np.intp)
    k = (1 << 32) // n
    words = rng.integers(0, 1 << 64, size=(size + 1) // 2, dtype=np.uint64)
    raw = words.view(np.uint32)[:size]
    index = np.empty(size, dtype=np.intp)
    np.floor_divide(raw, np.uint32(k), out=index, casting="unsafe")
    if k * n < 1 << 32:
        rejected = np.flatnonzero(raw >= np.uint32(k * n))
        if rejected.size:
            index[rejected] = rng.integers(0, n, size=rejected.size)
    return index


def _index_means(
    diff: npt.NDArray[np.float64], resamples: int, seed: int, threads: int | None
) -> npt.NDArray[np.float64]:
    import numpy as np

    n = int(diff.size)
    per_chunk = max(1, _CHUNK_DRAWS // n)
    starts = list(range(0, resamples, per_chunk))
    children = np.random.SeedSequence(seed).spawn(len(starts))
    means = np.empty(resamples, dtype=np.float64)

    def chunk(i: int) -> None:
        start = starts[i]
        rows = min(per_chunk, resamples - start)
        index = uniform_indices(np.random.default_rng(children[i]), n, rows * n)
        # Indices are in range by construction: "clip" skips numpy's bounds check.
        gathered = np.take(diff, index.reshape(rows, n), mode="clip")
        np.sum(gathered, axis=1, out=means[start : start + rows])

    workers = threads if threads is not None else min(4, os.cpu_count() or 1)
    if workers <= 1 or len(starts) == 1 or n * resamples < _THREAD_MIN_DRAWS:
        for i in range(len(starts)):
            chunk(i)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            # list() re-raises the first exception of any chunk.
            list(pool.map(chunk, range(len(starts))))
    means /= n
    return means
