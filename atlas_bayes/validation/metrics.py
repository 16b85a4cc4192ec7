"""Scores of held-out predictions: R^2, absolute error, elpd and predictive coverage.

Everything is on log-loss (log nats per token), the scale the laws are fitted on. Inputs are
draws of the law's mean log-loss ``mu`` at each held-out evaluation, ``(sample, obs)``, with
the noise scale ``sigma`` and (Student-t likelihood) degrees of freedom ``nu`` of each draw:
the posterior predictive of an evaluation is the mixture over draws of
``StudentT(nu, mu, sigma)`` (or ``Normal(mu, sigma)`` without ``nu``).
"""

import numpy as np
from scipy import special, stats

#: Central predictive intervals whose coverage is reported (equal-tailed).
COVERAGE_PROBS = (0.5, 0.9)
#: Fewest held-out points of a language for its R^2 to enter the per-language mean: with two
#: or three points at nearly the same loss, R^2 divides by almost nothing and one language's
#: -50 would swamp the mean.
MIN_POINTS_PER_GROUP = 5
#: Largest number of (sample x observation) densities evaluated at once.
CHUNK_ELEMENTS = 4_000_000


def r_squared(y: np.ndarray, prediction: np.ndarray) -> float:
    """Out-of-sample R^2 ``1 - sum (y - yhat)^2 / sum (y - mean(y))^2`` over held-out points.

    ``mean(y)`` is the held-out points' own mean (the usual ``sklearn.metrics.r2_score``
    convention), so R^2 < 0 means a worse fit than the held-out mean and R^2 depends on how
    much the held-out losses vary. NaN with fewer than two points or no variation.
    """
    y = np.asarray(y, dtype=float)
    if len(y) < 2:
        return float("nan")
    total = float(np.sum((y - y.mean()) ** 2))
    if total <= 0:
        return float("nan")
    return 1.0 - float(np.sum((y - prediction) ** 2)) / total


def r_squared_by_group(
    y: np.ndarray,
    prediction: np.ndarray,
    groups: np.ndarray,
    min_points: int = MIN_POINTS_PER_GROUP,
) -> float:
    """Mean over groups (evaluation languages) of each group's :func:`r_squared`.

    ATLAS's monolingual Table 1 averages per-language R^2. Groups with fewer than
    ``min_points`` points or no variation are left out; NaN if none is left. Extrapolation
    folds hold out points at similar losses, so this mean can be far below the pooled R^2
    even when the errors are small: read it with the MAE.
    """
    groups = np.asarray(groups)
    values = [
        r_squared(y[groups == g], prediction[groups == g])
        for g in np.unique(groups)
        if (groups == g).sum() >= min_points
    ]
    values = [v for v in values if np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


def _chunks(n_obs: int, n_samples: int):
    size = max(1, CHUNK_ELEMENTS // max(1, n_samples))
    for start in range(0, n_obs, size):
        yield slice(start, min(n_obs, start + size))


def predictive_scores(
    y: np.ndarray, mu: np.ndarray, sigma: np.ndarray, nu: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise log predictive density and predictive CDF (PIT) of held-out log-losses.

    Parameters
    ----------
    y
        Observed log-losses, ``(obs,)``.
    mu
        Draws of the mean log-loss, ``(sample, obs)``.
    sigma, nu
        Noise scale and Student-t degrees of freedom per draw, ``(sample,)``; ``nu`` None for
        normal noise.

    Returns
    -------
    tuple of numpy.ndarray
        ``lpd`` (obs,): ``log mean_s p(y | mu_s, sigma_s, nu_s)``; ``pit`` (obs,): the mixture
        predictive CDF at ``y``, ``mean_s F(y | mu_s, sigma_s, nu_s)``.
    """
    n_samples, n_obs = mu.shape
    lpd = np.empty(n_obs)
    pit = np.empty(n_obs)
    scale = np.asarray(sigma, dtype=float)[:, None]
    for part in _chunks(n_obs, n_samples):
        z = (y[None, part] - mu[:, part]) / scale
        if nu is None:
            logpdf, cdf = stats.norm.logpdf(z), stats.norm.cdf(z)
        else:
            dof = np.asarray(nu, dtype=float)[:, None]
            logpdf, cdf = stats.t.logpdf(z, dof), stats.t.cdf(z, dof)
        logpdf = logpdf - np.log(scale)
        lpd[part] = special.logsumexp(logpdf, axis=0) - np.log(n_samples)
        pit[part] = cdf.mean(axis=0)
    return lpd, pit


def heldout_metrics(
    y: np.ndarray,
    mu: np.ndarray,
    sigma: np.ndarray,
    nu: np.ndarray | None,
    languages: np.ndarray,
) -> dict[str, float]:
    """Every held-out score of one fold.

    Parameters
    ----------
    y
        Observed log-losses, ``(obs,)``.
    mu
        Draws of the law's mean log-loss, ``(sample, obs)``.
    sigma, nu
        Per-draw noise scale and degrees of freedom (None: normal noise).
    languages
        Evaluation language of each point (for the per-language R^2).

    Returns
    -------
    dict
        ``r2`` (pooled over the fold's points, :func:`r_squared`), ``r2_language_mean``
        (:func:`r_squared_by_group`), ``mae`` (mean absolute error of log-loss), both with the
        posterior mean of ``mu`` as the point prediction (noise-free: the law's prediction);
        ``elpd`` (sum of pointwise ``lpd``), ``elpd_se`` (``sqrt(n var(lpd))``, as LOO
        reports), ``elpd_per_obs``; ``cover50`` and ``cover90``: shares of points inside
        the central equal-tailed 50 % and 90 % posterior predictive intervals, i.e. with
        predictive CDF (PIT) in ``[(1 - p) / 2, (1 + p) / 2]``. Computed from the CDF, this
        is the exact interval of the predictive mixture, with no Monte Carlo noise draws.
    """
    y = np.asarray(y, dtype=float)
    prediction = mu.mean(axis=0)
    lpd, pit = predictive_scores(y, mu, sigma, nu)
    n = len(y)
    out = {
        "r2": r_squared(y, prediction),
        "r2_language_mean": r_squared_by_group(y, prediction, np.asarray(languages)),
        "mae": float(np.mean(np.abs(y - prediction))),
        "elpd": float(lpd.sum()),
        "elpd_se": float(np.sqrt(n * lpd.var(ddof=1))) if n > 1 else float("nan"),
        "elpd_per_obs": float(lpd.mean()),
    }
    for prob in COVERAGE_PROBS:
        low, high = (1 - prob) / 2, (1 + prob) / 2
        out[f"cover{round(prob * 100)}"] = float(np.mean((pit >= low) & (pit <= high)))
    return out


__all__ = [
    "COVERAGE_PROBS",
    "MIN_POINTS_PER_GROUP",
    "heldout_metrics",
    "predictive_scores",
    "r_squared",
    "r_squared_by_group",
]
