"""The statistics of a comparison, with numpy: agreement and kappa, regression errors, distribution
distances (PSI, Jensen-Shannon, Wasserstein) between main's and the trial's outputs."""

from __future__ import annotations

from collections import Counter
from typing import Any

BINS = 10
EPSILON = 1e-6  # an empty histogram bin counts as this share (PSI and JS stay finite)


def classification(flips: list[tuple[str, str, int]]) -> dict[str, Any]:
    """Agreement, Cohen's kappa and the flip matrix (main class -> trial class -> pairs), from the
    pairs counted per (main class, trial class)."""
    pairs = sum(count for _, _, count in flips)
    if pairs == 0:
        return {"agreement": None, "kappa": None, "flips": {}}
    agree = sum(count for a, b, count in flips if a == b) / pairs
    main_share: Counter[str] = Counter()
    trial_share: Counter[str] = Counter()
    matrix: dict[str, dict[str, int]] = {}
    for a, b, count in flips:
        main_share[a] += count
        trial_share[b] += count
        matrix.setdefault(a, {})[b] = matrix.get(a, {}).get(b, 0) + count
    expected = sum(main_share[c] * trial_share[c] for c in main_share) / pairs**2
    kappa = 1.0 if expected == 1 else (agree - expected) / (1 - expected)
    ordered = {a: dict(sorted(row.items())) for a, row in sorted(matrix.items())}
    return {"agreement": agree, "kappa": kappa, "flips": ordered}


def regression(main: Any, trial: Any, tolerance: float | None) -> dict[str, Any]:
    """MAE, RMSE, bias (trial minus main), Pearson and Spearman, share within `tolerance`."""
    import numpy as np

    a, b = np.asarray(main, dtype=float), np.asarray(trial, dtype=float)
    if a.size == 0:
        return {"mae": None, "rmse": None, "bias": None, "pearson": None, "spearman": None, "within": None}
    diff = b - a
    result: dict[str, Any] = {
        "mae": float(np.mean(np.abs(diff))),
        "rmse": float(np.sqrt(np.mean(diff**2))),
        "bias": float(np.mean(diff)),
        "pearson": _correlation(a, b),
        "spearman": _correlation(_ranks(a), _ranks(b)),
        "within": None if tolerance is None else float(np.mean(np.abs(diff) <= tolerance)),
    }
    return result


def _ranks(values: Any) -> Any:
    import numpy as np

    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=float)
    ranks[order] = np.arange(len(values), dtype=float)
    return ranks


def _correlation(a: Any, b: Any) -> float | None:
    import numpy as np

    if a.size < 2 or np.std(a) == 0 or np.std(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def distances(main: Any, trial: Any) -> dict[str, float | None]:
    """PSI and Jensen-Shannon over main's deciles (bins of main's quantiles), Wasserstein-1 on values."""
    import numpy as np

    a, b = np.asarray(main, dtype=float), np.asarray(trial, dtype=float)
    if a.size == 0 or b.size == 0:
        return {"psi": None, "jensen_shannon": None, "wasserstein": None}
    edges = np.unique(np.quantile(a, np.linspace(0, 1, BINS + 1)))
    if edges.size < 2:
        edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
    edges[0], edges[-1] = -np.inf, np.inf
    p = np.maximum(np.histogram(a, edges)[0] / a.size, EPSILON)
    q = np.maximum(np.histogram(b, edges)[0] / b.size, EPSILON)
    psi = float(np.sum((q - p) * np.log(q / p)))
    mid = (p + q) / 2
    js = float(0.5 * np.sum(p * np.log2(p / mid)) + 0.5 * np.sum(q * np.log2(q / mid)))
    return {"psi": psi, "jensen_shannon": js, "wasserstein": _wasserstein(a, b)}


def _wasserstein(a: Any, b: Any) -> float:
    """The area between the two empirical CDFs."""
    import numpy as np

    points = np.sort(np.concatenate([a, b]))
    widths = np.diff(points)
    cdf_a = np.searchsorted(np.sort(a), points[:-1], side="right") / a.size
    cdf_b = np.searchsorted(np.sort(b), points[:-1], side="right") / b.size
    return float(np.sum(np.abs(cdf_a - cdf_b) * widths))


def histograms(main: Any, trial: Any, bins: int = 20) -> dict[str, Any]:
    """Both variants' outputs over the same equal-width bins, and the joint counts (rows main's bin,
    columns the trial's): what `--plot` draws for a regression, small enough for JSON."""
    import numpy as np

    a, b = np.asarray(main, dtype=float), np.asarray(trial, dtype=float)
    if a.size == 0:
        return {"edges": [], "main": [], "trial": [], "joint": []}
    low, high = float(min(a.min(), b.min())), float(max(a.max(), b.max()))
    if low == high:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, bins + 1)
    joint = np.histogram2d(a, b, bins=[edges, edges])[0]
    return {"edges": [float(e) for e in edges], "main": [int(n) for n in np.histogram(a, edges)[0]],
            "trial": [int(n) for n in np.histogram(b, edges)[0]],
            "joint": [[int(n) for n in row] for row in joint]}
