"""``atlas_matrix`` on the RegMix data-mixture runs, beside RegMix's regression baselines.

RegMix (Liu et al. 2024, arXiv:2407.01492) trained 512 models of 1M parameters on 1B tokens,
each on a different mixture of 17 Pile domains, and measured the validation loss on 13 of
those domains. With domains standing in for languages, these runs are the nearest public
stand-in for ATLAS's transfer matrix: how much training on domain ``s`` lowers the loss on
domain ``t``. This benchmark

1. turns the 512 training mixtures into a study (one run per mixture, ``params = 1e6``, each
   domain's tokens = its weight x 1e9, zero-weight domains left out, no unique tokens: no
   repetition) and fits the ``atlas_matrix`` variant to it;
2. predicts the three held-out sets of RegMix: ``test_*_1m`` (N = 1e6, D = 1e9),
   ``test_*_60m`` (N = 6e7, D = 1e9) and ``test_*_1B`` (N = 1e9, D = 2.5e10);
3. scores the predictions per evaluation domain by Spearman's rho between the predicted loss
   (posterior mean of the law's loss, without observation noise) and the observed loss across
   the test mixtures, averaged over domains, and for the fitted scale the coverage of the 50 %
   and 90 % equal-tailed posterior predictive intervals;
4. fits RegMix's two regressions, per evaluation domain, on the same training mixtures
   (ordinary least squares on the 17 weights with an intercept, and LightGBM with the
   settings of RegMix's ``regression_fitting/regression.ipynb``: ``gbdt``, ``regression``
   objective, 1000 trees, learning rate 0.01, other settings LightGBM's defaults; RegMix also
   stopped early on a validation split, which is left out here) and scores them the same way.

What these data can and cannot say
----------------------------------
- N and D are fixed within a file, so the Chinchilla parameter term ``a (N/N_ref)^-alpha`` is
  constant in the training data: it is not identified apart from ``E``, and ``alpha`` is not
  identified at all. Their priors carry them. Predictions at 60M and 1B parameters therefore
  extrapolate in N on the prior: their levels (and interval coverage) say little, while their
  ranks within a domain (the rho) come from the transfer matrix and ``beta``, which the
  varying mixtures do inform (a domain's own tokens and every source's tokens vary).
- The ATLAS laws need a target's own tokens (``D_eff`` is built on ``S(D_t)``): evaluations
  of a domain that the mixture gives weight 0 are dropped from the fit (zero-shot) and cannot
  be predicted (``build_prediction_data`` raises ``ModelDataError``). About 40 % of the
  (mixture, domain) pairs are of this kind. ``atlas_matrix``'s rho is therefore computed on
  the mixtures that train on the domain, and the baselines are scored both on that subset
  (same mixtures, comparable) and on all test mixtures (as RegMix reports them). The
  baselines also train on the zero-weight mixtures that ``atlas_matrix`` cannot use.
- A test mixture can train on a source that no fitted observation of the target trained on
  (more likely with ``--max-train``): that pair has no sampled transfer weight and the fit
  refuses to predict it (``ModelDataError``). Such evaluations are left out and counted.
- The script, family and data size of a domain are unknown, so every pair feature of the
  transfer prior is 0: the feature coefficients keep their priors and the matrix is
  informed by the intercept, the per-source effects and the per-pair residuals only.
- Sampling: with ``atlas_matrix``'s priors nearly every draw took 1023 leapfrog steps (the
  ridge that the unidentified split between ``log_E`` and ``log_a`` leaves in each domain).
  ``atlas_matrix_mixtures`` (the default here) fixes that split by its priors, centres the
  data term at a domain's typical tokens and starts chains from prior draws. With a ``beta``
  per domain it took 493 gradient evaluations per draw on all 512 mixtures and did not
  converge (R-hat 1.06, min ESS 68, 9 divergences, 11 % of draws at the maximum tree depth
  in 4 x 1000 draws): each domain's coefficient, exponent and constant were correlated (up to
  0.94), because the fitted betas are small (~0.1) and the term nearly linear in log D. With
  ``beta`` shared (the variant since 2026-12-01): 160 per draw, none at the maximum depth, no
  divergences, R-hat 1.03 and min ESS 118 in 4 x 1000 draws; in 4 x 3000 one transfer
  residual (``tau_residual_z[70]``: dm_mathematics from philpapers) still mixes slowly (R-hat
  1.024, tail ESS 81), riding on the shared ``beta``'s slow direction (docs/findings.md).
- ``test_*_1m`` and ``test_*_60m`` hold the same 256 mixtures; the predictions' ranks are
  nearly the same for both, so their rho differ through the observed losses.

The data are read from ``../shared/datasets/regmix`` (relative to the repository root) and
never copied into the repository.

Run (full): .venv/bin/python benchmarks/regmix_study.py --out regmix.json [--fit-out fit.nc]
Quick look: .venv/bin/python benchmarks/regmix_study.py --max-train 64 --chains 2 --draws 50
            --tune 50
Options: --chains --draws --tune --seed (4, 1000, 500, 0), --max-train N, --model (a variant
name or TOML path with law atlas_matrix), --target-accept, --mass-matrix, --cores.

Needs the ``benchmarks`` extra (``pip install -e '.[benchmarks]'``: lightgbm, scikit-learn).
"""

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from atlas_bayes.inference import Fit, SamplerSettings, fit_variant
from atlas_bayes.inference.predict import mean_log_loss, predictive_loss
from atlas_bayes.modeling.data import ModelDataError, build_prediction_data
from atlas_bayes.study import Study
from atlas_bayes.variants import VariantSpec, load_variant

#: Where the RegMix files are: ``../shared/datasets/regmix`` from the repository root.
REGMIX = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "regmix"
VARIANT = "atlas_matrix"
MIXTURE_COLUMN = re.compile(r"^train_the_pile_(?P<domain>.+)$")
LOSS_COLUMN = re.compile(r"^metric/the_pile_(?P<domain>.+)_val_loss$")
INDEX = "index"
#: Equal-tailed predictive intervals whose coverage is reported.
INTERVALS = (0.9, 0.5)
#: LightGBM settings of RegMix's regression notebook (random_state is the run's seed).
LGBM_SETTINGS: dict[str, Any] = {
    "boosting_type": "gbdt",
    "objective": "regression",
    "n_estimators": 1000,
    "learning_rate": 0.01,
    "n_jobs": 1,
    "verbosity": -1,
}
#: Fewer test mixtures than this in a domain: no rho for it.
MIN_RANKED = 3


@dataclass(frozen=True)
class Scale:
    """Model size and token budget shared by every run of one RegMix file."""

    label: str
    params: float
    tokens: float


TRAIN_SCALE = Scale("1m", 1e6, 1e9)
TEST_SCALES = (Scale("1m", 1e6, 1e9), Scale("60m", 6e7, 1e9), Scale("1B", 1e9, 2.5e10))


@dataclass(frozen=True)
class Split:
    """One RegMix file pair: mixture weights and losses of the same runs.

    Attributes
    ----------
    role : str
        ``train`` or ``test``.
    scale : Scale
        N and D of its runs.
    weights : pandas.DataFrame
        Mixture weights, one row per run (indexed by RegMix's ``index``), one column per
        training domain.
    losses : pandas.DataFrame
        Validation losses (nats per token) of the same rows, one column per evaluation domain.
    unmatched : dict of str to list of int
        RegMix indices with a mixture but no loss row, and the reverse; left out.
    """

    role: str
    scale: Scale
    weights: pd.DataFrame
    losses: pd.DataFrame
    unmatched: dict[str, list[int]]

    @property
    def name(self) -> str:
        """File suffix, e.g. ``test_1B``."""
        return f"{self.role}_{self.scale.label}"

    def subset(self, rows: np.ndarray) -> "Split":
        """The same split restricted to the rows at positions ``rows``."""
        return Split(
            self.role,
            self.scale,
            self.weights.iloc[rows],
            self.losses.iloc[rows],
            self.unmatched,
        )


# ---------------------------------------------------------------------------- reading
def require_folder(folder: Path) -> Path:
    """Return ``folder`` if it holds the RegMix files; exit with a clear message otherwise."""
    files = [("train", TRAIN_SCALE)] + [("test", scale) for scale in TEST_SCALES]
    expected = [
        f"{role}_{kind}_{scale.label}.csv"
        for role, scale in files
        for kind in ("mixture", "pile_loss")
    ]
    missing = [name for name in expected if not (folder / name).is_file()]
    if missing:
        sys.exit(
            f"error: RegMix data not found in {folder} (missing {', '.join(missing)}). This "
            "benchmark reads ../shared/datasets/regmix next to the repository (see its "
            "SOURCE.md); pass --data to point elsewhere."
        )
    return folder


def rename_columns(frame: pd.DataFrame, pattern: re.Pattern[str], path: Path) -> pd.DataFrame:
    """Index ``frame`` by RegMix's ``index`` and name its columns by domain.

    Raises
    ------
    ValueError
        If a column does not match ``pattern`` or ``index`` is missing or repeated.
    """
    if INDEX not in frame or frame[INDEX].duplicated().any():
        raise ValueError(f"{path}: expected a unique '{INDEX}' column")
    names = {}
    for column in frame.columns.drop(INDEX):
        match = pattern.match(column)
        if match is None:
            raise ValueError(f"{path}: unexpected column {column!r} (pattern {pattern.pattern})")
        names[column] = match["domain"]
    return frame.set_index(INDEX).rename(columns=names).astype(float)


def read_split(folder: Path, role: str, scale: Scale) -> Split:
    """Read ``{role}_mixture_{scale}.csv`` and ``{role}_pile_loss_{scale}.csv``, joined on index.

    Parameters
    ----------
    folder
        The RegMix data folder.
    role
        ``train`` or ``test``.
    scale
        The file's N and D.

    Returns
    -------
    Split
        Rows present in both files, in mixture-file order.
    """
    mixture_path = folder / f"{role}_mixture_{scale.label}.csv"
    loss_path = folder / f"{role}_pile_loss_{scale.label}.csv"
    weights = rename_columns(pd.read_csv(mixture_path), MIXTURE_COLUMN, mixture_path)
    losses = rename_columns(pd.read_csv(loss_path), LOSS_COLUMN, loss_path)
    both = weights.index.intersection(losses.index, sort=False)
    unmatched = {
        "mixture_without_loss": sorted(int(i) for i in weights.index.difference(losses.index)),
        "loss_without_mixture": sorted(int(i) for i in losses.index.difference(weights.index)),
    }
    return Split(role, scale, weights.loc[both], losses.loc[both], unmatched)


def subsample(split: Split, size: int | None, seed: int) -> Split:
    """``size`` rows of ``split`` drawn without replacement (all rows if None or larger)."""
    if size is None or size >= len(split.weights):
        return split
    if size < 1:
        raise ValueError(f"--max-train must be >= 1, got {size}")
    rows = np.sort(np.random.default_rng(seed).choice(len(split.weights), size, replace=False))
    return split.subset(rows)


def domain_report(train: Split, tests: list[Split]) -> dict[str, Any]:
    """How the evaluation domains map onto the training (mixture) domains."""
    mixture_domains = list(train.weights.columns)
    eval_domains = list(train.losses.columns)
    for split in tests:
        if list(split.weights.columns) != mixture_domains:
            raise ValueError(f"{split.name}: mixture domains differ from the training file")
        if list(split.losses.columns) != eval_domains:
            raise ValueError(f"{split.name}: evaluation domains differ from the training file")
    never_trained = [d for d in mixture_domains if not (train.weights[d] > 0).any()]
    return {
        "mixture_domains": mixture_domains,
        "eval_domains": eval_domains,
        "eval_without_training_domain": [d for d in eval_domains if d not in mixture_domains],
        "training_only_domains": [d for d in mixture_domains if d not in eval_domains],
        "domains_never_in_training_mixtures": never_trained,
    }


# ---------------------------------------------------------------------------- studies
def run_id(split: Split, index: int) -> str:
    """The study's run id of RegMix row ``index`` of ``split``, e.g. ``regmix-1m-train-7``."""
    return f"regmix-{split.scale.label}-{split.role}-{index}"


def split_study(split: Split, domains: list[str], eval_domains: list[str]) -> Study:
    """A validated study of ``split``: one run per mixture, evaluated on ``eval_domains``.

    Parameters
    ----------
    split
        The runs.
    domains
        Every training domain, in order (the study's ``languages`` table).
    eval_domains
        Evaluation domains to include (each must be a training domain).

    Returns
    -------
    Study
    """
    run_ids = pd.Series([run_id(split, i) for i in split.weights.index], index=split.weights.index)
    runs = pd.DataFrame(
        {"run_id": run_ids.to_numpy(), "params": split.scale.params, "regime": "pretrain"}
    ).assign(kind="regmix")
    tokens = (split.weights * split.scale.tokens).rename(index=run_ids)
    mixture = tokens.rename_axis(index="run_id", columns="language").stack().rename("tokens")
    mixture = mixture[mixture > 0].reset_index().assign(unique_tokens=np.nan)
    evals = split.losses[eval_domains].rename(index=run_ids)
    evals = evals.rename_axis(index="run_id", columns="language").stack().dropna().rename("loss")
    languages = pd.DataFrame({"language": domains})
    return Study.from_frames(runs, mixture, evals.reset_index(), languages)


# ---------------------------------------------------------------------------- atlas_matrix
def load_matrix_variant(model: str) -> VariantSpec:
    """The variant to fit: a shipped name or a TOML path, whose law must be ``atlas_matrix``."""
    spec = load_variant(model)
    if spec.law != VARIANT:
        sys.exit(f"error: --model {model}: law {spec.law!r}; this benchmark needs {VARIANT!r}")
    return spec


def fit_atlas_matrix(
    study: Study, spec: VariantSpec, settings: SamplerSettings, progress: bool
) -> tuple[Fit, float]:
    """Fit ``spec`` to ``study``; return the fit and its wall-clock seconds."""
    start = time.perf_counter()
    fit = fit_variant(study, spec, settings, progress=progress)
    return fit, time.perf_counter() - start


def prediction_status(fit: Fit, split: Split, eval_domains: list[str]) -> pd.DataFrame:
    """Whether the fit can predict each (test mixture, evaluation domain), and why not.

    Returns
    -------
    pandas.DataFrame
        Index: RegMix index; columns: evaluation domains; values ``ok``, ``no own tokens``
        (the mixture gives the domain weight 0), ``unknown pair`` (the mixture trains on a
        source without a transfer weight to the domain in this fit) or ``not fitted`` (the
        domain has no parameters in the fit).
    """
    data = fit.data
    languages = [str(x) for x in data["language"].values]
    sources = [str(x) for x in data["source"].values]
    pair_index = pd.DataFrame(data["pair_index"].values, index=languages, columns=sources)
    trained = split.weights > 0
    status = pd.DataFrame("ok", index=split.weights.index, columns=eval_domains)
    for domain in eval_domains:
        if domain not in languages:
            status[domain] = "not fitted"
            continue
        known = pair_index.loc[domain].reindex(split.weights.columns, fill_value=-1) >= 0
        known[domain] = True
        unknown = (trained & ~known).any(axis=1)
        status.loc[unknown, domain] = "unknown pair"
        status.loc[~trained[domain], domain] = "no own tokens"
    return status


def refusal_message(fit: Fit, study: Study) -> str | None:
    """The ``ModelDataError`` raised when asked to predict every evaluation, if any."""
    try:
        build_prediction_data(study, fit.data)
    except ModelDataError as err:
        return str(err)
    return None


def atlas_predictions(
    fit: Fit,
    split: Split,
    status: pd.DataFrame,
    domains: list[str],
    seed: int,
) -> pd.DataFrame:
    """Predicted loss and predictive intervals for every predictable evaluation.

    Parameters
    ----------
    fit
        The ``atlas_matrix`` fit.
    split
        The test runs.
    status
        :func:`prediction_status` of ``split``; only ``ok`` evaluations are predicted.
    domains
        Every training domain (the study's languages).
    seed
        Seed of the predictive noise.

    Returns
    -------
    pandas.DataFrame
        One row per predicted evaluation: ``index``, ``domain``, ``observed``, ``predicted``
        (posterior mean of the law's loss, no noise) and ``lower_P`` / ``upper_P`` for each
        interval of :data:`INTERVALS` (equal-tailed, posterior predictive).
    """
    ok = status.eq("ok")
    masked = split.losses[status.columns].where(ok)
    keep = ok.any(axis=1).to_numpy()
    columns = [INDEX, "domain", "observed", "predicted"] + [
        f"{side}_{round(prob * 100)}" for prob in INTERVALS for side in ("lower", "upper")
    ]
    if not keep.any():
        return pd.DataFrame(columns=columns)
    study = split_study(
        Split(split.role, split.scale, split.weights[keep], masked[keep], split.unmatched),
        domains,
        list(status.columns),
    )
    data = build_prediction_data(study, fit.data)
    mean = np.exp(mean_log_loss(fit, data)).mean(("chain", "draw")).values
    draws = predictive_loss(fit, data, seed=seed).stack(sample=("chain", "draw"))
    draws = draws.transpose("obs", "sample").values
    run_index = {run_id(split, i): i for i in split.weights.index}
    table = pd.DataFrame(
        {
            INDEX: [run_index[str(r)] for r in data["run_id"].values],
            "domain": data["eval_language"].values.astype(str),
            "observed": np.exp(data["log_loss"].values),
            "predicted": mean,
        }
    )
    for prob in INTERVALS:
        low, high = np.quantile(draws, [(1 - prob) / 2, (1 + prob) / 2], axis=1)
        table[f"lower_{round(prob * 100)}"] = low
        table[f"upper_{round(prob * 100)}"] = high
    return table[columns]


def coverage(table: pd.DataFrame, prob: float) -> float:
    """Share of observed losses inside the ``prob`` predictive interval."""
    label = round(prob * 100)
    inside = table["observed"].between(table[f"lower_{label}"], table[f"upper_{label}"])
    return float(inside.mean()) if len(table) else float("nan")


# ---------------------------------------------------------------------------- baselines
def fit_ols(weights: pd.DataFrame, losses: pd.DataFrame) -> np.ndarray:
    """Least-squares coefficients (intercept first), one column per evaluation domain.

    The weights of a mixture add up to about 1, so the intercept and weights are nearly
    collinear; ``lstsq`` returns the minimum-norm solution, whose predictions are unaffected.
    """
    design = np.column_stack([np.ones(len(weights)), weights.to_numpy()])
    coefficients, *_ = np.linalg.lstsq(design, losses.to_numpy(), rcond=None)
    return coefficients


def predict_ols(
    coefficients: np.ndarray, weights: pd.DataFrame, domains: list[str]
) -> pd.DataFrame:
    """Predicted losses of :func:`fit_ols` coefficients for the mixtures ``weights``."""
    design = np.column_stack([np.ones(len(weights)), weights.to_numpy()])
    return pd.DataFrame(design @ coefficients, index=weights.index, columns=domains)


def fit_lightgbm(weights: pd.DataFrame, losses: pd.DataFrame, seed: int) -> dict[str, Any]:
    """One LightGBM regressor per evaluation domain (:data:`LGBM_SETTINGS`)."""
    try:
        from lightgbm import LGBMRegressor
    except ImportError:
        sys.exit(
            "error: the LightGBM baseline needs the benchmarks extra: "
            ".venv/bin/pip install -e '.[benchmarks]' (lightgbm, scikit-learn)"
        )
    models = {}
    for domain in losses.columns:
        model = LGBMRegressor(**LGBM_SETTINGS, random_state=seed)
        models[domain] = model.fit(weights.to_numpy(), losses[domain].to_numpy())
    return models


def predict_lightgbm(models: dict[str, Any], weights: pd.DataFrame) -> pd.DataFrame:
    """Predicted losses of :func:`fit_lightgbm` models for the mixtures ``weights``."""
    return pd.DataFrame(
        {domain: model.predict(weights.to_numpy()) for domain, model in models.items()},
        index=weights.index,
    )


def predict_own_weight(weights: pd.DataFrame, domains: list[str]) -> pd.DataFrame:
    """A reference without fitting: rank mixtures by the evaluated domain's own weight alone.

    Only its ranks mean anything (minus the weight: more of a domain, lower loss); it shows
    how much of a rho comes from the own-domain share, which every model sees.
    """
    return -weights[domains]


# ---------------------------------------------------------------------------- metrics
def spearman(predicted: np.ndarray, observed: np.ndarray) -> float:
    """Spearman's rho, NaN with fewer than :data:`MIN_RANKED` pairs or constant input."""
    if len(observed) < MIN_RANKED or np.ptp(predicted) == 0 or np.ptp(observed) == 0:
        return float("nan")
    return float(spearmanr(predicted, observed).statistic)


def rho_by_domain(
    predicted: pd.DataFrame, observed: pd.DataFrame, mask: pd.DataFrame | None = None
) -> dict[str, float]:
    """Spearman's rho per domain (column) across mixtures (rows), optionally on ``mask`` rows."""
    result = {}
    for domain in observed.columns:
        rows = mask[domain].to_numpy() if mask is not None else slice(None)
        result[domain] = spearman(
            predicted[domain].to_numpy()[rows], observed[domain].to_numpy()[rows]
        )
    return result


def mean_rho(rhos: dict[str, float]) -> float:
    """Mean of the defined per-domain rho (NaN if none)."""
    values = [v for v in rhos.values() if np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


def evaluate_split(
    fit: Fit,
    split: Split,
    baselines: dict[str, pd.DataFrame],
    domains: list[str],
    seed: int,
) -> dict[str, Any]:
    """Every metric of one test set, for ``atlas_matrix`` and the baselines."""
    eval_domains = [d for d in split.losses.columns if d in domains]
    status = prediction_status(fit, split, eval_domains)
    full_study = split_study(split, domains, eval_domains)
    table = atlas_predictions(fit, split, status, domains, seed)
    atlas = table.pivot(index=INDEX, columns="domain", values="predicted")
    atlas = atlas.reindex(index=split.losses.index, columns=eval_domains)
    observed = split.losses[eval_domains]
    ok = status.eq("ok")
    rho = {"atlas_matrix": rho_by_domain(atlas, observed, ok)}
    for name, predicted in baselines.items():
        rho[f"{name}_same_subset"] = rho_by_domain(predicted[eval_domains], observed, ok)
        rho[f"{name}_all"] = rho_by_domain(predicted[eval_domains], observed)
    return {
        "scale": {"params": split.scale.params, "tokens": split.scale.tokens},
        "mixtures": len(split.weights),
        "unmatched_rows": split.unmatched,
        "evaluations": int(status.size),
        "predicted_by_atlas_matrix": int(ok.to_numpy().sum()),
        "not_predicted": {
            reason: int(count)
            for reason, count in status.stack().value_counts().items()
            if reason != "ok"
        },
        "predicted_per_domain": {d: int(ok[d].sum()) for d in eval_domains},
        "refusal_on_all_evaluations": refusal_message(fit, full_study),
        "mean_rho": {name: mean_rho(values) for name, values in rho.items()},
        "rho_by_domain": rho,
        "coverage": {f"{round(p * 100)}": coverage(table, p) for p in INTERVALS},
        "coverage_by_domain": {
            f"{round(p * 100)}": {d: coverage(g, p) for d, g in table.groupby("domain")}
            for p in INTERVALS
        },
    }


# ---------------------------------------------------------------------------- report
def fit_summary(fit: Fit, seconds: float, settings: SamplerSettings) -> dict[str, Any]:
    """Time, sampler cost and convergence of the fit, JSON-ready."""
    diagnostics = fit.diagnostics
    steps = diagnostics.mean_steps_per_draw * settings.chains * (settings.draws + settings.tune)
    return {
        "seconds": seconds,
        "fit_seconds_recorded": fit.meta.get("fit_seconds"),
        "observations": int(fit.data.sizes["obs"]),
        "dropped_zero_shot": int(fit.data.attrs.get("dropped_zero_shot", 0)),
        "free_pairs": int(fit.data.sizes["pair"]),
        "direct_pairs": int(fit.data["pair_direct"].values.sum()),
        "mean_steps_per_draw": diagnostics.mean_steps_per_draw,
        # Assumes tuning draws cost as much as kept ones; includes compile time.
        "approx_gradient_evaluations_per_second": steps / seconds,
        "converged": diagnostics.passed,
        "diagnostics": diagnostics.to_dict(),
    }


def verdict(fit: Fit) -> str:
    """Short convergence verdict for the table."""
    problems = len(fit.diagnostics.problems)
    return "passed" if not problems else f"FAILED ({problems} problem{'s' * (problems > 1)})"


def format_table(results: dict[str, dict[str, Any]], fit_info: dict[str, Any], gate: str) -> str:
    """The summary table: one row per test set."""
    header = (
        f"{'test set':<9} {'n atlas/all':>11} {'atlas rho':>9} {'OLS rho':>8} {'LGBM rho':>8}"
        f" {'own w':>6} {'OLS all':>8} {'LGBM all':>8} {'cov90':>6} {'cov50':>6} {'fit s':>7}"
        "  verdict"
    )
    lines = [header, "-" * len(header)]
    for name, result in results.items():
        rho = result["mean_rho"]
        cover = result["coverage"]
        counts = f"{result['predicted_by_atlas_matrix']}/{result['evaluations']}"
        lines.append(
            f"{name:<9} {counts:>11} {rho['atlas_matrix']:>9.3f}"
            f" {rho['ols_same_subset']:>8.3f} {rho['lightgbm_same_subset']:>8.3f}"
            f" {rho['own_weight_same_subset']:>6.3f}"
            f" {rho['ols_all']:>8.3f} {rho['lightgbm_all']:>8.3f}"
            f" {cover['90']:>6.2f} {cover['50']:>6.2f} {fit_info['seconds']:>7.0f}  {gate}"
        )
    lines += [
        "",
        "rho: Spearman between predicted and observed loss across test mixtures, per domain,",
        "then the mean over domains. atlas rho, OLS rho and LGBM rho on the mixtures",
        "atlas_matrix can predict (n atlas); OLS all / LGBM all on every test mixture.",
        "own w: ranking by the domain's own weight alone (no fit), on the same mixtures.",
        "cov90 / cov50: share of held-out losses inside atlas_matrix's 90 % / 50 %",
        "equal-tailed predictive intervals (meaningful at the fitted scale, 1m; at 60m and 1B",
        "the parameter term is extrapolated on its prior).",
    ]
    return "\n".join(lines)


def notes(domains: dict[str, Any], results: dict[str, Any], fit_info: dict[str, Any]) -> str:
    """Plain-language notes on what was left out and why."""
    lines = [
        f"fit: {fit_info['observations']} evaluations, {fit_info['dropped_zero_shot']} "
        "zero-shot (domain weight 0) dropped by the package; "
        f"{fit_info['free_pairs']} free transfer pairs; "
        f"{fit_info['mean_steps_per_draw']:.1f} gradient evaluations per draw; "
        f"~{fit_info['approx_gradient_evaluations_per_second']:.0f} per second over all chains",
        "evaluation domains without a training domain: "
        + (", ".join(domains["eval_without_training_domain"]) or "none"),
        "training-only domains (sources, never evaluated): "
        + ", ".join(domains["training_only_domains"]),
    ]
    if domains["domains_never_in_training_mixtures"]:
        lines.append(
            "domains with weight 0 in every training mixture: "
            + ", ".join(domains["domains_never_in_training_mixtures"])
        )
    for name, result in results.items():
        skipped = ", ".join(f"{n} {why}" for why, n in result["not_predicted"].items()) or "none"
        lines.append(f"{name}: not predicted by atlas_matrix: {skipped}")
        if result["refusal_on_all_evaluations"]:
            lines.append(f"  ModelDataError on all: {result['refusal_on_all_evaluations']}")
        for where, rows in result["unmatched_rows"].items():
            if rows:
                lines.append(f"  {where.replace('_', ' ')}: {rows}")
    for problem in fit_info["diagnostics"]["problems"]:
        lines.append(f"gate: {problem}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- main
def json_ready(value: Any) -> Any:
    """``value`` with NaN and infinities as None (strict JSON), paths as text."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Path):
        return str(value)
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model",
        default="atlas_matrix_mixtures",
        help="variant name or TOML path with law atlas_matrix (default: atlas_matrix_mixtures)",
    )
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cores", type=int, default=None, help="parallel chains")
    parser.add_argument("--target-accept", type=float, default=0.8)
    parser.add_argument(
        "--mass-matrix",
        choices=("diag", "low_rank"),
        default=None,
        help="nutpie mass-matrix adaptation (default: the variant's)",
    )
    parser.add_argument(
        "--max-train",
        type=int,
        default=None,
        metavar="N",
        help="fit on N training mixtures drawn with --seed (default: all 512)",
    )
    parser.add_argument("--data", type=Path, default=REGMIX, help="RegMix data folder")
    parser.add_argument("--out", type=Path, default=None, help="write every number as JSON")
    parser.add_argument("--fit-out", type=Path, default=None, help="save the fit (netCDF)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --fit-out")
    parser.add_argument("--progress", action="store_true", help="show the sampler's progress")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Fit, predict, score and report."""
    args = parse_args(argv)
    if args.fit_out is not None and args.fit_out.exists() and not args.overwrite:
        sys.exit(f"error: {args.fit_out} exists; pass --overwrite to replace it")
    settings = SamplerSettings(
        chains=args.chains,
        draws=args.draws,
        tune=args.tune,
        seed=args.seed,
        cores=args.cores,
        target_accept=args.target_accept,
        mass_matrix=args.mass_matrix,
    )
    spec = load_matrix_variant(args.model)
    folder = require_folder(args.data)
    train = subsample(read_split(folder, "train", TRAIN_SCALE), args.max_train, args.seed)
    tests = [read_split(folder, "test", scale) for scale in TEST_SCALES]
    domains = domain_report(train, tests)
    mixture_domains = domains["mixture_domains"]
    eval_domains = [d for d in domains["eval_domains"] if d in mixture_domains]

    study = split_study(train, mixture_domains, eval_domains)
    fit, seconds = fit_atlas_matrix(study, spec, settings, args.progress)
    if args.fit_out is not None:
        fit.save(args.fit_out, overwrite=args.overwrite)
    fit_info = fit_summary(fit, seconds, settings)

    ols = fit_ols(train.weights, train.losses[eval_domains])
    lightgbm = fit_lightgbm(train.weights, train.losses[eval_domains], args.seed)
    results = {}
    for split in tests:
        baselines = {
            "ols": predict_ols(ols, split.weights, eval_domains),
            "lightgbm": predict_lightgbm(lightgbm, split.weights),
            "own_weight": predict_own_weight(split.weights, eval_domains),
        }
        results[split.name] = evaluate_split(fit, split, baselines, mixture_domains, args.seed)

    print(format_table(results, fit_info, verdict(fit)))
    print()
    print(notes(domains, results, fit_info))
    if args.out is not None:
        report = {
            "variant": spec.name,
            "variant_spec": json.loads(spec.to_json()),
            "data": str(folder),
            "settings": {**vars(args), "data": str(folder)},
            "training_mixtures": len(train.weights),
            "training_indices": [int(i) for i in train.weights.index],
            "domains": domains,
            "lightgbm_settings": LGBM_SETTINGS,
            "fit": fit_info,
            "test_sets": results,
        }
        args.out.write_text(json.dumps(json_ready(report), indent=1, allow_nan=False) + "\n")
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
