"""The arithmetic of a verdict: Wilson score intervals and how many samples help."""

import math

# Two-sided 95%.
Z_95 = 1.959963984540054
# Past this many samples, "more samples" stops being advice.
MAX_SAMPLES_ADVISED = 10_000


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion; (0, 1) when there is no trial."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    return _bounds(successes / n, n, z)


def _bounds(p: float, n: int, z: float = Z_95) -> tuple[float, float]:
    z2 = z * z
    centre = p + z2 / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    denominator = 1 + z2 / n
    low = (centre - margin) / denominator
    high = (centre + margin) / denominator
    return max(0.0, low), min(1.0, high)


def samples_needed(rate: float, bar: float, n: int) -> int | None:
    """Trials in all for the interval's lower bound to clear `bar`, if the observed
    `rate` held; None when no number would do (the rate is not above the bar)."""
    if rate <= bar:
        return None
    if _bounds(rate, MAX_SAMPLES_ADVISED)[0] < bar:
        return None
    low, high = max(n, 1), MAX_SAMPLES_ADVISED
    if _bounds(rate, low)[0] >= bar:
        return low
    # The lower bound grows with n at a fixed rate: the first n that clears it.
    while high - low > 1:
        middle = (low + high) // 2
        if _bounds(rate, middle)[0] >= bar:
            high = middle
        else:
            low = middle
    return high
