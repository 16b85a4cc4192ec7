"""PSIS-LOO comparison of fitted variants, in a tidy table and in words.

Built on ArviZ: :func:`arviz.loo` (pointwise, on the log-likelihood of ``log_loss``) for each
fit and :func:`arviz.compare` (stacking weights) on those results; nothing here re-estimates
an ELPD. What this module adds is the refusal of comparisons that mean nothing (fits of
different studies or observations, fits without a log-likelihood), the Pareto k diagnostics
named by run and language, and a one-sentence reading.
"""

import hashlib
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import arviz as az
import numpy as np
import pandas as pd

from atlas_bayes.inference import Fit
from atlas_bayes.modeling.build import OBSERVED

#: Pareto k above which PSIS-LOO is unreliable whatever the number of draws (ArviZ uses the
#: lower ``1 - 1 / log10(S)`` for fewer than about 2,200 draws ``S``).
MAX_GOOD_K = 0.7
#: Pareto k above which the importance-sampling estimate is not even consistent.
VERY_HIGH_K = 1.0
#: ELPD differences (in absolute value) below this are ties (ArviZ's ``|elpd_diff| < 4``).
TIE_ELPD = 4.0

#: Columns of :attr:`Comparison.table`, best model first.
TABLE_COLUMNS = (
    "model", "rank", "elpd", "se", "p_loo", "elpd_diff", "dse", "p_worse", "weight",
    "k_threshold", "n_high_k", "n_very_high_k", "max_k",
)  # fmt: skip


class ComparisonError(ValueError):
    """Fits that cannot be compared (different studies or observations, no log-likelihood)."""


@dataclass
class Comparison:
    """The PSIS-LOO comparison of two or more fits of the same observations.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per model, best first (:data:`TABLE_COLUMNS`): ``rank`` (1 = best),
        ``elpd`` and its ``se``, ``p_loo`` (effective number of parameters), ``elpd_diff``
        (this model's ELPD minus the best one's, <= 0) and ``dse`` (standard error of that
        difference, from the pointwise differences), ``p_worse`` (see :func:`compare_fits`;
        NaN for the best model), ``weight`` (stacking weight), and the Pareto k diagnostics
        ``k_threshold``, ``n_high_k`` (observations above it), ``n_very_high_k`` (above 1)
        and ``max_k``.
    high_k : pandas.DataFrame
        The observations whose Pareto k exceeds the threshold, worst first: ``model``,
        ``obs``, ``run_id``, ``eval_language``, ``params``, ``tokens`` (the target's own
        tokens seen) and ``pareto_k``.
    arviz_table : pandas.DataFrame
        :func:`arviz.compare`'s own table, unrounded, indexed by model.
    loo : dict
        Model to its :func:`arviz.loo` result (pointwise).
    observations : int
        Observations compared.
    study_hash : str
        The study all fits were fitted to.
    """

    table: pd.DataFrame
    high_k: pd.DataFrame
    arviz_table: pd.DataFrame
    loo: dict[str, Any] = field(repr=False)
    observations: int
    study_hash: str

    def summary(self) -> str:
        """One sentence: which model predicts left-out observations best, and by how much."""
        best = self.table.iloc[0]
        parts = []
        for _, row in self.table.iloc[1:].iterrows():
            behind = -row["elpd_diff"]
            ratio = behind / row["dse"] if row["dse"] > 0 else np.inf
            verdict = (
                "practically tied"
                if behind < TIE_ELPD or ratio < 2
                else "clearly worse"
                if ratio > 4
                else "probably worse"
            )
            parts.append(
                f"{row['model']} is {verdict}, {behind:.1f} ± {row['dse']:.1f} behind "
                f"(P(worse) {probability_text(row['p_worse'])}, stacking weight "
                f"{row['weight']:.2f})"
            )
        return (
            f"On {self.observations} observations, {best['model']} predicts left-out "
            f"log-losses best (ELPD {best['elpd']:.1f} ± {best['se']:.1f}, stacking weight "
            f"{best['weight']:.2f}); " + "; ".join(parts) + "."
        )

    def pareto_k_summary(self) -> str:
        """The Pareto k diagnostics in words, with the worst observations named."""
        if not self.table["n_high_k"].any():
            threshold = self.table["k_threshold"].max()
            return (
                f"Every Pareto k is below {threshold:.2f}: the leave-one-out estimates of all "
                "models are reliable."
            )
        sentences = []
        for _, row in self.table.iterrows():
            if not row["n_high_k"]:
                continue
            worst = self.high_k[self.high_k["model"] == row["model"]].head(3)
            named = ", ".join(
                f"run {r.run_id} on {r.eval_language} (k = {r.pareto_k:.2f})"
                for r in worst.itertuples()
            )
            very = (
                f", {row['n_very_high_k']} of them above 1 (no reliable estimate at all)"
                if row["n_very_high_k"]
                else ""
            )
            sentences.append(
                f"{row['model']} has {row['n_high_k']} of {self.observations} observations "
                f"with Pareto k above {row['k_threshold']:.2f}{very}, worst {named}"
            )
        return (
            "; ".join(sentences) + ". Their left-out predictive densities rest on a few "
            "draws: that model's ELPD is uncertain beyond its standard error and usually "
            "too optimistic, so treat its lead or lag as approximate; these observations "
            "are influential (look at them, refit with more draws, or use K-fold)."
        )

    def to_dict(self) -> dict[str, Any]:
        """The comparison as JSON-ready values.

        Keys: ``observations``, ``study_hash``, ``var_name``, ``method``, ``p_worse`` (how it
        is computed), ``models`` (the table's rows), ``high_k`` (its rows), ``summary`` and
        ``pareto_k_summary``.
        """
        return {
            "observations": self.observations,
            "study_hash": self.study_hash,
            "var_name": OBSERVED,
            "method": "PSIS-LOO (arviz.loo), arviz.compare with stacking weights",
            "p_worse": "Phi(-elpd_diff / dse): normal approximation of the ELPD difference",
            "models": _records(self.table),
            "high_k": _records(self.high_k),
            "summary": self.summary(),
            "pareto_k_summary": self.pareto_k_summary(),
        }


def probability_text(p: float) -> str:
    """A probability for reading: three decimals, "> 0.999", "< 0.001" or "n/a" (NaN)."""
    if not np.isfinite(p):
        return "n/a"
    if p > 0.999:
        return "> 0.999"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values (NaN as None)."""
    out = []
    for record in frame.to_dict(orient="records"):
        clean = {}
        for key, value in record.items():
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, float) and not np.isfinite(value):
                value = None
            clean[key] = value
        out.append(clean)
    return out


def observation_key(fit: Fit) -> tuple[str, str]:
    """The study hash of a fit and a digest of the observations it was fitted to.

    Two fits can be compared by LOO only if both parts agree: the same study, and the same
    evaluations (run, language and observed log-loss, in the same order).

    Parameters
    ----------
    fit
        A fit.

    Returns
    -------
    tuple of str
        ``(study_hash, observations_digest)``.
    """
    data = fit.data
    digest = hashlib.sha256()
    for name in ("run_id", "eval_language"):
        digest.update("\x00".join(data[name].values.astype(str)).encode())
        digest.update(b"\x01")
    digest.update(np.ascontiguousarray(data[OBSERVED].values, dtype=float).tobytes())
    return str(fit.meta.get("study_hash", "")), digest.hexdigest()


def _labelled(fits: Mapping[str, Fit] | Sequence[Fit]) -> dict[str, Fit]:
    """Label fits by the mapping's keys, or by variant name (numbered when repeated)."""
    if isinstance(fits, Mapping):
        return {str(k): v for k, v in fits.items()}
    out: dict[str, Fit] = {}
    for fit in fits:
        label, n = fit.spec.name, 1
        while label in out:
            n += 1
            label = f"{fit.spec.name} ({n})"
        out[label] = fit
    return out


def check_comparable(fits: Mapping[str, Fit]) -> None:
    """Refuse fits that a LOO comparison cannot rank.

    Raises
    ------
    ComparisonError
        Fewer than two fits; a fit without the pointwise log-likelihood of ``log_loss``;
        fits of different studies (their recorded study hashes differ); or fits of the same
        study on different observations (different run selections).
    """
    if len(fits) < 2:
        raise ComparisonError(f"a comparison needs two fits or more, got {len(fits)}")
    for label, fit in fits.items():
        if "log_likelihood" not in fit.tree.children or (
            OBSERVED not in fit.tree["log_likelihood"].data_vars
        ):
            raise ComparisonError(
                f"{label} has no pointwise log-likelihood of {OBSERVED!r} (the "
                "log_likelihood group): LOO needs it; refit with `atlas-bayes fit`, which "
                "stores it"
            )
    keys = {label: observation_key(fit) for label, fit in fits.items()}
    studies = {key[0] for key in keys.values()}
    if len(studies) > 1:
        listing = "; ".join(f"{label}: {key[0][:16] or '(none)'}" for label, key in keys.items())
        raise ComparisonError(
            "the fits come from different studies (study hashes " + listing + "); LOO "
            "compares predictions of the same observations, so fit every variant to one study"
        )
    if len({key[1] for key in keys.values()}) > 1:
        listing = "; ".join(
            f"{label}: {fit.data.sizes['obs']} observations" for label, fit in fits.items()
        )
        raise ComparisonError(
            "the fits are of the same study but of different observations (" + listing + "), "
            "as variants with different [data] selections are; LOO compares predictions of "
            "the same observations only"
        )


def compare_fits(fits: Mapping[str, Fit] | Sequence[Fit], method: str = "stacking") -> Comparison:
    """Rank fits of the same observations by PSIS-LOO expected log predictive density.

    Each fit's pointwise PSIS-LOO (:func:`arviz.loo` on the ``log_loss`` log-likelihood)
    goes into :func:`arviz.compare`. ``elpd_diff`` is a model's ELPD minus the best model's
    and ``dse`` the standard error of that difference from the pointwise differences. The
    probability that a model is worse than the best, ``p_worse``, is ArviZ's normal
    approximation of the difference: with the difference distributed as
    ``Normal(elpd_diff, dse)``, ``p_worse = P(difference < 0) = Phi(-elpd_diff / dse)``
    (``Phi`` the standard normal CDF; ``elpd_diff <= 0`` here, so this is ``Phi(|elpd_diff|
    / dse)``). It is rough for fewer than 100 observations or differences under 4 (Sivula
    et al. 2025). Stacking weights (Yao et al. 2018) sum to 1.

    Parameters
    ----------
    fits
        Label to fit, or fits (labelled by variant name, numbered when repeated).
    method
        Weights: ``stacking`` (default), ``bb-pseudo-bma`` or ``pseudo-bma``.

    Returns
    -------
    Comparison

    Raises
    ------
    ComparisonError
        See :func:`check_comparable`.
    """
    labelled = _labelled(fits)
    check_comparable(labelled)
    results = {}
    with warnings.catch_warnings():
        # ArviZ warns about high Pareto k; the Comparison says it in words, by observation.
        warnings.simplefilter("ignore", UserWarning)
        for label, fit in labelled.items():
            results[label] = az.loo(fit.tree, pointwise=True, var_name=OBSERVED)
        arviz_table = az.compare(results, method=method, round_to="none")
    first = next(iter(labelled.values()))
    data = first.data
    rows, high = [], []
    for label, row in arviz_table.iterrows():
        result = results[label]
        k = np.asarray(result.pareto_k.values, dtype=float).ravel()
        threshold = float(min(result.good_k, MAX_GOOD_K))
        rows.append(
            {
                "model": label,
                "rank": int(row["rank"]) + 1,
                "elpd": float(row["elpd"]),
                "se": float(row["se"]),
                "p_loo": float(row["p"]),
                "elpd_diff": float(row["elpd_diff"]),
                "dse": float(row["dse"]),
                "p_worse": float(row["p_worse"]),
                "weight": float(row["weight"]),
                "k_threshold": threshold,
                "n_high_k": int((k > threshold).sum()),
                "n_very_high_k": int((k > VERY_HIGH_K).sum()),
                "max_k": float(np.nanmax(k)),
            }
        )
        high.append(_high_k_rows(label, k, threshold, labelled[label]))
    high_k = pd.concat(high, ignore_index=True).sort_values(
        "pareto_k", ascending=False, kind="stable", ignore_index=True
    )
    return Comparison(
        table=pd.DataFrame(rows, columns=list(TABLE_COLUMNS)),
        high_k=high_k,
        arviz_table=arviz_table,
        loo=results,
        observations=int(data.sizes["obs"]),
        study_hash=observation_key(first)[0],
    )


def _high_k_rows(label: str, k: np.ndarray, threshold: float, fit: Fit) -> pd.DataFrame:
    """The observations of one model with Pareto k above ``threshold``, named."""
    data = fit.data
    index = np.flatnonzero(k > threshold)
    rows = np.arange(data.sizes["obs"])
    own = data["tokens"].values[rows, data["target_source"].values]
    return pd.DataFrame(
        {
            "model": label,
            "obs": data["obs"].values[index].astype(int),
            "run_id": data["run_id"].values[index].astype(str),
            "eval_language": data["eval_language"].values[index].astype(str),
            "params": np.exp(data["log_params"].values[index]),
            "tokens": own[index],
            "pareto_k": k[index],
        }
    )


__all__ = [
    "MAX_GOOD_K",
    "TABLE_COLUMNS",
    "Comparison",
    "ComparisonError",
    "check_comparable",
    "compare_fits",
    "observation_key",
    "probability_text",
]
