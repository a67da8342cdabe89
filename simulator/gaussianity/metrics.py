"""The paper's Gaussianity metrics (Sec. 5, Eq. 20, Tables 1-2), vectorised over coordinates.

Three numbers per embedding matrix ``Z`` (rows are samples, columns are coordinates):

* the coefficient of variation of the row norms ``CV = std(||z_i||) / mean(||z_i||)`` (Eq. 20;
  population standard deviation, ``ddof = 0``);
* per coordinate, the Anderson-Darling statistic ``A^2`` for normality with estimated mean and
  variance (pass if ``A^2 < 0.752``, the 5% point of D'Agostino & Stephens 1986, Table 4.7);
* per coordinate, the D'Agostino-Pearson omnibus p-value (pass if ``p > 0.05``; D'Agostino 1971,
  Anscombe & Glynn 1983, D'Agostino, Belanger & D'Agostino 1990);

aggregated as the mean statistic, the mean p-value and the fraction of passing coordinates, with a
Clopper-Pearson interval on each fraction.

The definitions reproduce SciPy 1.17 exactly (``scipy.stats.anderson(x, 'norm').statistic`` and
``scipy.stats.normaltest(x).pvalue``; the test suite checks 1e-10 relative agreement):

* ``A^2 = -n - sum_i (2i - 1)/n [log Phi(w_(i)) + log(1 - Phi(w_(n+1-i)))]`` with
  ``w = (x - mean) / s`` and ``s`` the ``ddof = 1`` standard deviation. SciPy applies **no**
  small-sample correction to the statistic (only to its tabulated critical values), so neither do
  we; the paper's threshold 0.752 is compared with the raw ``A^2``.
* ``K^2 = Z_skew^2 + Z_kurt^2`` with the biased moment estimators, D'Agostino's transformation of
  ``sqrt(b1)`` and the Anscombe-Glynn transformation of ``b2``; ``p = P(chi^2_2 > K^2)``.
  SciPy replaces a sample skewness of exactly zero by ``y = 1`` before the transformation; that
  quirk is reproduced so the numbers agree. The skewness test needs ``n >= 8`` rows (SciPy returns
  NaN below that); the kurtosis approximation is recommended from ``n >= 20`` (Anscombe & Glynn),
  which is the minimum :mod:`simulator.gaussianity.audit` enforces.

Coordinates whose sample variance is zero (to SciPy's tolerance ``m2 <= (eps * mean)^2``) are
*constant*: both statistics are undefined there; they are reported separately and left out of
the aggregates.

The arithmetic is written against the array namespace of the input (NumPy or CuPy); the
special functions ``log_ndtr`` and ``chdtrc`` come from ``scipy.special`` or
``cupyx.scipy.special`` accordingly.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any

import numpy as np

from simulator.backend import array_namespace, to_host
from simulator.validation import check_int, check_real

#: Pass rule of the AD statistic (paper Sec. 5): ``A^2 < 0.752``.
AD_CRITICAL_5 = 0.752
#: Pass rule of the DP test (paper Sec. 5): ``p > 0.05``.
DP_ALPHA = 0.05
#: Fewest rows for which SciPy's skewness test (hence the DP omnibus test) is defined.
MIN_ROWS_DP = 8


def _special(xp: ModuleType) -> ModuleType:
    if xp.__name__ == "cupy":
        import cupyx.scipy.special as special
    else:
        from scipy import special
    return special


def _last_axis(x: Any, axis: int, xp: ModuleType) -> Any:
    if x.ndim == 0:
        raise ValueError("x must have at least one dimension")
    if axis in (-1, x.ndim - 1):
        return x
    # A contiguous sample axis makes NumPy reduce each coordinate pairwise, as SciPy does for
    # a 1-D sample; a strided reduction sums in another order and the AD statistic, a small
    # difference of large sums, would then differ in the 11th digit.
    moved = xp.moveaxis(x, axis, -1)
    if xp is np or xp.__name__ == "cupy":
        # CuPy 13's asarray has no ``copy`` argument; both libraries have ascontiguousarray.
        return xp.ascontiguousarray(moved)
    return xp.asarray(moved, copy=True)


def _as_float(x: Any, xp: ModuleType) -> Any:
    if xp is np:
        return np.asarray(x, dtype=np.float64)
    return xp.asarray(x, dtype=xp.float64)


def _moments(x: Any, xp: ModuleType) -> tuple[Any, Any, Any, Any, Any]:
    """Mean, biased ``m2, m3, m4`` along the last axis and SciPy's zero-variance mask.

    The powers are formed as SciPy's ``_moment`` forms them (``d**2``, ``d**2 * d``,
    ``(d**2)**2``) so the rounding agrees.
    """
    mean = xp.mean(x, axis=-1, keepdims=True)
    dev = x - mean
    sq = dev * dev
    m2 = xp.mean(sq, axis=-1)
    m3 = xp.mean(sq * dev, axis=-1)
    m4 = xp.mean(sq * sq, axis=-1)
    mean = mean[..., 0]
    eps = float(np.finfo(np.float64).eps)
    constant = m2 <= (eps * mean) ** 2
    return mean, m2, m3, m4, constant


def constant_columns(x: Any, *, axis: int = 0) -> Any:
    """Boolean mask of coordinates with zero sample variance (SciPy's tolerance).

    Parameters
    ----------
    x : array of shape (n, d) (with ``axis = 0``)
    axis : int
        Axis along which the samples of one coordinate lie.
    """
    xp = array_namespace(x)
    x = _last_axis(_as_float(x, xp), axis, xp)
    return _moments(x, xp)[4]


def anderson_normal(x: Any, *, axis: int = 0) -> Any:
    """Anderson-Darling statistic ``A^2`` for normality with estimated mean and variance.

    Identical to ``scipy.stats.anderson(x, 'norm').statistic`` (Stephens 1974; the paper's AD
    metric, Sec. 5) for float64 input, computed for every coordinate at once. Other real dtypes
    are converted to float64 first (SciPy would compute float32 input in float32).

    Parameters
    ----------
    x : array
        Samples along ``axis``; every other axis indexes coordinates.
    axis : int
        Sample axis (default 0: rows are samples, as in an embedding matrix).

    Returns
    -------
    array
        ``A^2`` per coordinate; NaN for constant coordinates.
    """
    xp = array_namespace(x)
    x = _last_axis(_as_float(x, xp), axis, xp)
    return _anderson_last_axis(x, xp.sort(x, axis=-1), xp)


def anderson_normal_sorted(sorted_x: Any) -> Any:
    """:func:`anderson_normal` of samples already sorted along the last axis.

    The mean and standard deviation are then summed in sorted order, which changes the result
    only by rounding (relative ~1e-13); sorting a float32 block before converting it to float64
    is about twice as fast and gives the same sorted float64 values.
    """
    xp = array_namespace(sorted_x)
    sorted_x = _as_float(sorted_x, xp)
    return _anderson_last_axis(sorted_x, sorted_x, xp)


def _anderson_last_axis(x: Any, sorted_x: Any, xp: ModuleType) -> Any:
    n = check_int("number of rows", x.shape[-1], low=2)
    special = _special(xp)
    mean = xp.mean(x, axis=-1, keepdims=True)
    # The ddof = 1 standard deviation spelled out (NumPy's own sequence of operations), since
    # namespaces differ in how they name the correction.
    dev = x - mean
    s = xp.sqrt(xp.sum(dev * dev, axis=-1, keepdims=True) / (n - 1))
    del dev
    weights = (2.0 * xp.arange(1, n + 1, dtype=xp.float64) - 1.0) / n
    if xp is np:
        # In place: the (coordinates, n) temporaries dominate the cost of large audits.
        # Constant coordinates divide 0 by 0 here; they are masked to NaN below.
        w = sorted_x.copy() if sorted_x is x else sorted_x
        with np.errstate(invalid="ignore", divide="ignore"):
            w -= mean
            w /= s
            terms = special.log_ndtr(w)
            np.negative(w, out=w)
            special.log_ndtr(w, out=w)
            terms += w[..., ::-1]
            terms *= weights
    else:
        w = (sorted_x - mean) / s
        terms = weights * (special.log_ndtr(w) + xp.flip(special.log_ndtr(-w), axis=-1))
    a2 = -n - xp.sum(terms, axis=-1)
    eps = float(np.finfo(np.float64).eps)
    constant = (s * s * ((n - 1) / n) <= (eps * mean) ** 2)[..., 0]
    return xp.where(constant, xp.nan, a2)


@dataclass(frozen=True)
class DPResult:
    """D'Agostino-Pearson omnibus test per coordinate (arrays of one value per coordinate)."""

    statistic: Any
    pvalue: Any
    z_skew: Any
    z_kurtosis: Any


def _z_skew(b1: Any, n: float, xp: ModuleType) -> Any:
    # D'Agostino (1970) transformation of sqrt(b1), as in scipy.stats.skewtest.
    y = b1 * math.sqrt(((n + 1) * (n + 3)) / (6.0 * (n - 2)))
    beta2 = (
        3.0 * (n**2 + 27 * n - 70) * (n + 1) * (n + 3) / ((n - 2.0) * (n + 5) * (n + 7) * (n + 9))
    )
    w2 = -1 + math.sqrt(2 * (beta2 - 1))
    delta = 1 / math.sqrt(0.5 * math.log(w2))
    alpha = math.sqrt(2.0 / (w2 - 1))
    y = xp.where(y == 0, 1.0, y)  # SciPy's convention, reproduced for agreement
    return delta * xp.log(y / alpha + xp.sqrt((y / alpha) ** 2 + 1))


def _z_kurtosis(b2: Any, n: float, xp: ModuleType) -> Any:
    # Anscombe & Glynn (1983) transformation of b2, as in scipy.stats.kurtosistest.
    e = 3.0 * (n - 1) / (n + 1)
    varb2 = 24.0 * n * (n - 2) * (n - 3) / ((n + 1) * (n + 1.0) * (n + 3) * (n + 5))
    z = (b2 - e) / varb2**0.5
    sqrtbeta1 = (
        6.0
        * (n * n - 5 * n + 2)
        / ((n + 7) * (n + 9))
        * ((6.0 * (n + 3) * (n + 5)) / (n * (n - 2) * (n - 3))) ** 0.5
    )
    a = 6.0 + 8.0 / sqrtbeta1 * (2.0 / sqrtbeta1 + (1 + 4.0 / (sqrtbeta1**2)) ** 0.5)
    term1 = 1 - 2 / (9.0 * a)
    denom = 1 + z * (2 / (a - 4.0)) ** 0.5
    safe = xp.where(denom == 0.0, 1.0, denom)
    term2 = xp.sign(denom) * xp.where(
        denom == 0.0, xp.nan, ((1 - 2.0 / a) / xp.abs(safe)) ** (1 / 3)
    )
    return (term1 - term2) / (2 / (9.0 * a)) ** 0.5


def dagostino_pearson(x: Any, *, axis: int = 0) -> DPResult:
    """D'Agostino-Pearson ``K^2`` omnibus normality test for every coordinate at once.

    Identical to ``scipy.stats.normaltest(x)`` (statistic and p-value): ``K^2 = Z_skew^2 +
    Z_kurt^2`` referred to ``chi^2_2`` (D'Agostino & Pearson 1973; the paper's DP metric, Sec. 5).

    Parameters
    ----------
    x : array
        Samples along ``axis``; at least :data:`MIN_ROWS_DP` (= 8) of them.
    axis : int
        Sample axis (default 0).

    Returns
    -------
    DPResult
        NaN entries for constant coordinates.
    """
    xp = array_namespace(x)
    x = _last_axis(_as_float(x, xp), axis, xp)
    n = check_int("number of rows", x.shape[-1], low=MIN_ROWS_DP)
    _, m2, m3, m4, constant = _moments(x, xp)
    safe_m2 = xp.where(constant, 1.0, m2)
    b1 = xp.where(constant, xp.nan, m3 / safe_m2**1.5)
    b2 = xp.where(constant, xp.nan, m4 / safe_m2**2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        zs = _z_skew(b1, float(n), xp)
        zk = _z_kurtosis(b2, float(n), xp)
        k2 = zs * zs + zk * zk
        p = _special(xp).chdtrc(2.0, k2)
    return DPResult(k2, p, zs, zk)


def dagostino_pearson_pvalue(x: Any, *, axis: int = 0) -> Any:
    """``scipy.stats.normaltest(x).pvalue`` for every coordinate (see :func:`dagostino_pearson`)."""
    return dagostino_pearson(x, axis=axis).pvalue


def cv_of_norms(z: Any) -> float:
    """Coefficient of variation of the row norms, ``std(||z_i||) / mean(||z_i||)`` (Eq. 20).

    The population standard deviation (``ddof = 0``) is used. For unit-norm rows the CV is 0 by
    construction (it is computed, not assumed). ValueError if every row is zero.
    """
    xp = array_namespace(z)
    z = _as_float(z, xp)
    if z.ndim != 2:
        raise ValueError(f"z must have shape (n, d), got {tuple(z.shape)}")
    norms = xp.sqrt(xp.sum(z * z, axis=1))
    return cv_from_norms(norms)


def cv_from_norms(norms: Any) -> float:
    """CV of precomputed row norms (Eq. 20); see :func:`cv_of_norms`."""
    norms = np.asarray(to_host(norms), dtype=np.float64)
    if norms.size == 0:
        raise ValueError("the CV of norms needs at least one row")
    if not np.all(np.isfinite(norms)):
        raise ValueError(
            "the CV of norms needs finite row norms (NaN or infinite entries, or overflow)"
        )
    mean = float(norms.mean())
    if not mean > 0:
        raise ValueError("the CV of norms needs at least one nonzero row (mean norm is 0)")
    return float(norms.std() / mean)


@dataclass(frozen=True)
class PassFraction:
    """Fraction of coordinates passing a test, with a Clopper-Pearson interval."""

    passed: int
    total: int
    fraction: float
    ci_low: float
    ci_high: float
    confidence: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson 1934) interval for a binomial proportion ``k / n``."""
    from scipy import stats

    n = check_int("n", n, low=1)
    k = check_int("k", k, low=0, high=n)
    confidence = check_real(
        "confidence", confidence, low=0.0, high=1.0, low_open=True, high_open=True
    )
    a = (1.0 - confidence) / 2.0
    low = 0.0 if k == 0 else float(stats.beta.ppf(a, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(1.0 - a, k + 1, n - k))
    return low, high


def pass_fraction(passed: Any, confidence: float = 0.95) -> PassFraction:
    """Pass fraction of a boolean array with its Clopper-Pearson interval."""
    passed = np.asarray(to_host(passed), dtype=bool)
    total = int(passed.size)
    if total == 0:
        raise ValueError("pass fraction of zero coordinates is undefined")
    k = int(passed.sum())
    low, high = clopper_pearson(k, total, confidence)
    return PassFraction(k, total, k / total, low, high, confidence)


@dataclass(frozen=True)
class GaussianityMetrics:
    """The paper's aggregated metrics (Sec. 5, Tables 1-2) for one embedding matrix.

    Attributes
    ----------
    n, d : int
        Rows and coordinates.
    cv : float or None
        CV of row norms (Eq. 20); None when not computed.
    ad_mean, dp_mean : float
        Mean AD statistic and mean DP p-value over the non-constant coordinates.
    ad_pass, dp_pass : PassFraction
        Fraction of non-constant coordinates with ``A^2 < ad_critical`` / ``p > dp_alpha``.
    n_constant : int
        Coordinates left out because their sample variance is zero.
    ad_critical, dp_alpha : float
        The pass rules used.
    """

    n: int
    d: int
    cv: float | None
    ad_mean: float
    ad_pass: PassFraction
    dp_mean: float
    dp_pass: PassFraction
    n_constant: int
    ad_critical: float = AD_CRITICAL_5
    dp_alpha: float = DP_ALPHA

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def aggregate(
    ad: Any,
    dp_p: Any,
    *,
    n: int,
    cv: float | None = None,
    ad_critical: float = AD_CRITICAL_5,
    dp_alpha: float = DP_ALPHA,
    confidence: float = 0.95,
) -> GaussianityMetrics:
    """The paper's aggregation of per-coordinate AD statistics and DP p-values (Sec. 5).

    NaN entries (constant coordinates) are counted in ``n_constant`` and excluded.
    """
    ad = np.asarray(to_host(ad), dtype=np.float64).ravel()
    dp_p = np.asarray(to_host(dp_p), dtype=np.float64).ravel()
    if ad.shape != dp_p.shape:
        raise ValueError(f"ad and dp_p must have the same length, got {ad.size} and {dp_p.size}")
    n = check_int("n", n, low=MIN_ROWS_DP)
    ad_critical = check_real("ad_critical", ad_critical, low=0.0, low_open=True)
    dp_alpha = check_real("dp_alpha", dp_alpha, low=0.0, high=1.0, low_open=True, high_open=True)
    ok = np.isfinite(ad) & np.isfinite(dp_p)
    if not ok.any():
        raise ValueError("every coordinate is constant: the AD and DP tests are undefined")
    ad_ok, p_ok = ad[ok], dp_p[ok]
    return GaussianityMetrics(
        n=n,
        d=int(ad.size),
        cv=cv,
        ad_mean=float(ad_ok.mean()),
        ad_pass=pass_fraction(ad_ok < ad_critical, confidence),
        dp_mean=float(p_ok.mean()),
        dp_pass=pass_fraction(p_ok > dp_alpha, confidence),
        n_constant=int((~ok).sum()),
        ad_critical=ad_critical,
        dp_alpha=dp_alpha,
    )


def gaussianity_metrics(
    z: Any,
    *,
    ad_critical: float = AD_CRITICAL_5,
    dp_alpha: float = DP_ALPHA,
    with_cv: bool = True,
    confidence: float = 0.95,
) -> GaussianityMetrics:
    """All of the paper's metrics for an in-memory embedding matrix ``z`` of shape (n, d).

    For matrices too large for memory use :func:`simulator.audit.audit`, which streams column
    blocks through the same per-coordinate functions.
    """
    xp = array_namespace(z)
    z = _as_float(z, xp)
    if z.ndim != 2:
        raise ValueError(f"z must have shape (n, d), got {tuple(z.shape)}")
    n = check_int("number of rows", z.shape[0], low=MIN_ROWS_DP)
    check_int("number of columns", z.shape[1], low=1)
    if not bool(xp.all(xp.isfinite(z))):
        # A NaN/inf coordinate has NaN statistics, which aggregate() would count as constant.
        raise ValueError("z has NaN or infinite entries; the AD and DP tests need finite data")
    cols = xp.asarray(z.T)
    ad = anderson_normal(cols, axis=-1)
    p = dagostino_pearson(cols, axis=-1).pvalue
    cv = cv_of_norms(z) if with_cv else None
    return aggregate(
        ad, p, n=n, cv=cv, ad_critical=ad_critical, dp_alpha=dp_alpha, confidence=confidence
    )
