"""How far machine scores agree with teachers': Pearson r, RMSE, label agreement, QWK."""

from __future__ import annotations

import math
from collections.abc import Sequence


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r; None when fewer than two pairs or either side is constant."""
    n = len(xs)
    if n < 2 or n != len(ys):
        return None
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    var_x = sum((x - mean_x) ** 2 for x in xs)
    var_y = sum((y - mean_y) ** 2 for y in ys)
    if var_x == 0 or var_y == 0:
        return None
    return cov / math.sqrt(var_x * var_y)


def rmse(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Root mean squared error; None without pairs."""
    if not xs or len(xs) != len(ys):
        return None
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(xs, ys, strict=True)) / len(xs))


def quadratic_weighted_kappa(xs: Sequence[int], ys: Sequence[int], categories: int) -> float | None:
    """Cohen's kappa with quadratic weights over ratings 0…categories-1."""
    n = len(xs)
    if n == 0 or n != len(ys) or categories < 2:
        return None
    observed = [[0.0] * categories for _ in range(categories)]
    for x, y in zip(xs, ys, strict=True):
        observed[x][y] += 1
    row = [sum(r) for r in observed]
    col = [sum(observed[i][j] for i in range(categories)) for j in range(categories)]
    disagreement = expected = 0.0
    for i in range(categories):
        for j in range(categories):
            weight = (i - j) ** 2 / (categories - 1) ** 2
            disagreement += weight * observed[i][j]
            expected += weight * row[i] * col[j] / n
    if expected == 0:
        return 1.0 if disagreement == 0 else None
    return 1 - disagreement / expected


def score_bands(scores: Sequence[float], max_points: float) -> list[int]:
    """Scores rounded to whole points, the ratings QWK compares."""
    return [min(max(round(s), 0), math.ceil(max_points)) for s in scores]
