"""Extrapolation to the largest models on public data: Bayesian fit vs grid-Huber bootstrap.

Issue 7 ("Comparing model variants"): fit on the smaller models, predict the largest, and
score both methods on the same held-out runs. Reads ../shared/datasets (never copied):

- gadre-overtraining (Gadre et al. 2024; :func:`~atlas_bayes.public_data.read_gadre_overtraining`),
  the C4 evaluation loss ``loss_c4_val`` as the authors' explorer uses. Held out: every
  open_lm_1b (1.4B) and open_lm_7b (6.9B) run, 9 of 104 (the authors' split), fitted on the
  95 runs of the four smaller sizes (the authors fit only 5 of them per training dataset:
  the M = 20 runs and the smallest model at M = 320, with one exponent shared by N and D).
  The validation module's ``largest_params`` rule would hold out the 411M runs too (it takes
  whole sizes until 20 % of runs), so the fold is built here, in the same layout.
  Grouping: one law per training dataset (C4, RedPajama, RefinedWeb), as the authors fit,
  since the three datasets give clearly different C4 losses. The main NUTS row (``nuts``)
  fits chinchilla to each dataset alone (three fits, scores pooled over the 9 held-out runs,
  gate passed only if all three pass); the baseline fits each dataset alone anyway (the
  datasets are the study's "languages" and the grid-Huber fit is per language). The
  alternative, the three datasets as the "languages" of one hierarchical fit
  (``nuts_pooled``), is reported beside it: at the variant's default (centred) settings it
  fails the convergence gate (hundreds of divergences: a hierarchy over only three groups is
  a funnel for the centred parameterization), which is why it is not the main row.
  The authors report relative errors for (open_lm_1b, M=640) and (open_lm_7b, M=20); only the
  RedPajama runs include a 1.4B model at M = 640, so their numbers are for the ``rpj`` law.
- datablations (Muennighoff et al. 2023), the 182 runs of the paper's fit: the validation
  module's ``largest_params`` split, i.e. every run of N >= 1.52B (1.52B, 2.16B, 2.81B, 3.9B,
  4.25B, 8.67B: 43 runs), fitted on the 139 smaller runs. Variants data_constrained and
  chinchilla (chinchilla ignores repetition: D counts repeated tokens as new).

Per dataset and variant: NUTS at the variant's default settings (4 chains, its draws and
tuning; the validation module's compiled refit ``nuts_fit``) and the grid-Huber baseline
with a run-level bootstrap (``--bootstrap`` replicates, 400 by default: 1,000 would take
3-4 minutes per gadre/data_constrained fit on this 2-core machine), through the validation
module's point-fit protocol (``CVEntry`` + ``point_fit``, with the package's fit method
``atlas_bayes.baselines.HuberBootstrap``, as ``atlas-bayes crossval --baseline-bootstrap N``).

Scores on the held-out runs (y = log-loss):

- ``r2``: out-of-sample R^2 of log-loss (``validation.metrics.r_squared``) with the point
  prediction: the posterior median of the law's mean log-loss (NUTS) or the full-data point
  estimate (baseline);
- ``rel_err_mean`` / ``rel_err_max``: |pred - obs| / obs on the loss scale, same prediction;
- ``cover50`` / ``cover90``: share of held-out losses inside the central 50 % / 90 % interval.
  NUTS: the posterior predictive including the Student-t noise (``heldout_metrics``).
  Baseline: the percentile bootstrap interval of the predicted loss (``huber_bootstrap``), and
  on a second row (``huber_bootstrap+noise``) the bootstrap draws plus normal noise with each
  replicate's robust residual scale on the training runs (1.4826 x MAD), scored by
  ``heldout_metrics`` like NUTS. The NUTS interval of the law's mean alone (no noise) is in the
  JSON as ``cover50_mean`` / ``cover90_mean`` for comparison with the bootstrap;
- ``seconds``: wall time of the fit (NUTS: model compile + sampling + diagnostics; baseline:
  objective compile, grid and all L-BFGS-B runs); ``gate``: the NUTS convergence gate
  (the baseline has none; its count of unconverged replicates is in the JSON).

Run: .venv/bin/python benchmarks/extrapolation_real.py [--bootstrap 400] [--seed 0]
     [--draws N --tune N (smoke tests only)] [--no-chinchilla-datablations]
     [--no-pooled-gadre]
     [--out benchmarks/results-extrapolation_real-DATE.json]
"""

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from atlas_bayes.baselines import HuberBootstrap
from atlas_bayes.inference import SamplerSettings
from atlas_bayes.inference.predict import mean_log_loss
from atlas_bayes.modeling.data import build_model_data
from atlas_bayes.public_data import (
    GADRE_DATASETS,
    read_datablations,
    read_gadre_overtraining,
)
from atlas_bayes.study import Study
from atlas_bayes.validation.methods import (
    CVEntry,
    DrawsFit,
    nuts_fit,
    point_fit,
    predictive,
)
from atlas_bayes.validation.metrics import heldout_metrics, r_squared
from atlas_bayes.validation.splits import Fold, make_folds, run_values
from atlas_bayes.variants import VariantSpec, load_variant

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
#: Relative errors printed by the authors' scaling_explorer.ipynb (mlfoundations/scaling).
AUTHORS = {
    "rpj-open_lm_1b-32.0": ("open_lm_1b, M=640", 0.7103),
    "rpj-open_lm_7b-1.0": ("open_lm_7b, M=20", 0.7320),
}
#: gadre: runs of at least this many parameters are held out (open_lm_1b and open_lm_7b).
GADRE_HELDOUT_PARAMS = 1e9


@dataclass
class Part:
    """One NUTS fit: a study, its fit data and the fold it holds out."""

    study: Study
    template: xr.Dataset
    fold: Fold


@dataclass
class Case:
    """One dataset and variant: the whole study (baseline, held-out runs) and NUTS fits.

    ``nuts`` maps a method label to the fits whose held-out predictions it pools (gadre: one
    fit per training dataset, or one fit of the three).
    """

    name: str
    spec: VariantSpec
    study: Study
    template: xr.Dataset
    fold: Fold
    nuts: dict[str, list[Part]]


def gadre_fold(template: xr.Dataset) -> Fold:
    runs = run_values(template)
    held = runs.index[runs["params"] >= GADRE_HELDOUT_PARAMS]
    mask = np.isin(template["run_id"].values.astype(str), held.to_numpy(str))
    rule = (
        f"parameters >= 1e9 (open_lm_1b, open_lm_7b): {len(held)} of {len(runs)} runs, "
        "the authors' split"
    )
    return Fold("largest_params", "open_lm_1b+7b", mask, rule=rule)


def cases(shared: Path, chinchilla_datablations: bool, pooled_gadre: bool) -> list[Case]:
    out = []
    folder = shared / "gadre-overtraining"
    spec = load_variant("chinchilla")
    study = read_gadre_overtraining(folder, eval_set="c4_val")
    template = build_model_data(study, spec)
    whole = Part(study, template, gadre_fold(template))
    per_dataset = []
    for dataset in GADRE_DATASETS:
        part_study = read_gadre_overtraining(folder, eval_set="c4_val", datasets=[dataset])
        part_template = build_model_data(part_study, spec)
        per_dataset.append(Part(part_study, part_template, gadre_fold(part_template)))
    nuts = {"nuts": per_dataset} | ({"nuts_pooled": [whole]} if pooled_gadre else {})
    out.append(Case("gadre", spec, study, template, whole.fold, nuts))
    study = read_datablations(shared / "datablations")
    variants = ["data_constrained"] + (["chinchilla"] if chinchilla_datablations else [])
    for variant in variants:
        spec = load_variant(variant)
        template = build_model_data(study, spec)
        (fold,) = make_folds("largest_params", template, study)
        out.append(
            Case(
                "datablations", spec, study, template, fold, {"nuts": [Part(study, template, fold)]}
            )
        )
    return out


def heldout_pairs(data: xr.Dataset) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": data["run_id"].values.astype(str),
            "language": data["eval_language"].values.astype(str),
        }
    )


def interval_coverage(y: np.ndarray, draws: np.ndarray, prob: float) -> float:
    """Share of ``y`` inside the central ``prob`` interval of ``draws`` (sample, obs)."""
    low, high = np.nanquantile(draws, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    return float(np.mean((y >= low) & (y <= high)))


def point_scores(y: np.ndarray, point: np.ndarray) -> dict[str, Any]:
    """R^2 of log-loss and relative errors on loss of the point predictions ``point``."""
    observed, predicted = np.exp(y), np.exp(point)
    relative = np.abs(predicted - observed) / observed
    return {
        "r2": r_squared(y, point),
        "rel_err_mean": float(relative.mean()),
        "rel_err_max": float(relative.max()),
    }


def pooled(parts: list[dict], key: str) -> float:
    """A per-fit share (coverage) pooled over the fits' held-out points."""
    weights = np.array([p["n_heldout"] for p in parts], dtype=float)
    return float(np.average([p[key] for p in parts], weights=weights))


def run_nuts(
    parts: list[Part], spec: VariantSpec, settings: SamplerSettings
) -> tuple[dict, pd.DataFrame]:
    """NUTS fits of ``parts``; scores over their held-out points and per-run predictions."""
    fits, frames = [], []
    for part in parts:
        held = np.flatnonzero(part.fold.heldout)
        train = np.flatnonzero(~part.fold.heldout)
        data = part.template.isel(obs=held)
        key = hashlib.sha256((spec.to_json() + part.study.content_hash()).encode()).hexdigest()
        started = time.perf_counter()
        fit = nuts_fit(key, part.template, spec, train, settings)
        seconds = time.perf_counter() - started
        pred = predictive(fit, data)
        y = data["log_loss"].values
        scores = heldout_metrics(y, pred.mu, pred.sigma, pred.nu, data["eval_language"].values)
        languages = sorted(set(data["eval_language"].values.astype(str)))
        fits.append(
            {
                "languages": languages,
                "n_heldout": len(held),
                "n_train": len(train),
                "seconds": seconds,
                "gate": bool(fit.diagnostics.passed),
                "diagnostics": fit.diagnostics.to_dict(),
                # The predictive noise: posterior medians of the Student-t scale and dof.
                "sigma_median": float(np.median(pred.sigma)),
                "nu_median": None if pred.nu is None else float(np.median(pred.nu)),
                "cover50_mean": interval_coverage(y, pred.mu, 0.5),
                "cover90_mean": interval_coverage(y, pred.mu, 0.9),
                "heldout_metrics": scores,
                **{k: scores[k] for k in ("cover50", "cover90", "elpd")},
            }
        )
        band = np.quantile(np.exp(pred.mu), [0.05, 0.95], axis=0)
        frames.append(
            pd.DataFrame(
                {"log_pred": np.median(pred.mu, axis=0), "q05": band[0], "q95": band[1]},
                index=data["run_id"].values.astype(str),
            )
        )
        print(
            f"  NUTS on {', '.join(languages)}: {seconds:.0f} s, gate "
            f"{'pass' if fits[-1]['gate'] else 'FAIL'}",
            flush=True,
        )
    row = {
        "cover50": pooled(fits, "cover50"),
        "cover90": pooled(fits, "cover90"),
        "cover50_mean": pooled(fits, "cover50_mean"),
        "cover90_mean": pooled(fits, "cover90_mean"),
        "elpd": float(sum(f["elpd"] for f in fits)),
        "seconds": float(sum(f["seconds"] for f in fits)),
        "gate": all(f["gate"] for f in fits),
        "fits": fits,
    }
    return row, pd.concat(frames)


def run_baseline(case: Case, seed: int, n_bootstrap: int) -> tuple[list[dict], pd.DataFrame]:
    """The grid-Huber bootstrap fitted to the case's training runs; scores and predictions."""
    data = case.template.isel(obs=np.flatnonzero(case.fold.heldout))
    method = HuberBootstrap(n_bootstrap)
    entry = CVEntry(case.spec, method="huber_bootstrap", fit_method=method)
    draws = point_fit(entry, case.study, heldout_pairs(data), case.template, seed)
    fit = method.last
    point_draws = fit.point.expand_dims(chain=[0], draw=[0])
    if "language" in point_draws.dims:
        point_draws = point_draws.reindex(language=case.template["language"].values)
    point_fit_ = DrawsFit(point_draws.transpose("chain", "draw", ...), case.spec, case.template)
    point = mean_log_loss(point_fit_, data).values[0, 0]
    pred = predictive(draws, data)
    y = data["log_loss"].values
    finite = np.isfinite(pred.mu).all(axis=1)
    mu, sigma = pred.mu[finite], pred.sigma[finite]
    common = {
        "seconds": method.seconds,
        "gate": None,
        "n_bootstrap": n_bootstrap,
        "replicates_used": int(finite.sum()),
        "point_converged": fit.meta["point_converged"],
        "replicates_not_converged": fit.meta["replicates_not_converged"],
        "sigma_median": float(np.median(sigma)),
    }
    noise = heldout_metrics(y, mu, sigma, None, data["eval_language"].values)
    rows = [
        {
            "method": "huber_bootstrap",
            **common,
            "cover50": interval_coverage(y, mu, 0.5),
            "cover90": interval_coverage(y, mu, 0.9),
        },
        {
            "method": "huber_bootstrap+noise",
            **common,
            "cover50": noise["cover50"],
            "cover90": noise["cover90"],
            "elpd": noise["elpd"],
            "heldout_metrics": noise,
        },
    ]
    band = np.quantile(np.exp(mu), [0.05, 0.95], axis=0)
    frame = pd.DataFrame(
        {"log_pred": point, "q05": band[0], "q95": band[1]},
        index=data["run_id"].values.astype(str),
    )
    return rows, frame


def run_case(case: Case, settings: SamplerSettings, n_bootstrap: int) -> dict:
    data = case.template.isel(obs=np.flatnonzero(case.fold.heldout))
    print(f"{case.name} {case.spec.name}: {case.fold.rule}", flush=True)
    runs = pd.DataFrame(
        {
            "dataset": data["eval_language"].values.astype(str),
            "params": np.exp(data["log_params"].values),
            "tokens": data["tokens"].sum("source").values,
            "loss": np.exp(data["log_loss"].values),
        },
        index=pd.Index(data["run_id"].values.astype(str), name="run_id"),
    )
    y = data["log_loss"].values
    rows = []
    for label, parts in case.nuts.items():
        row, frame = run_nuts(parts, case.spec, settings)
        frame = frame.reindex(runs.index)
        rows.append({"method": label, **point_scores(y, frame["log_pred"].to_numpy()), **row})
        runs[f"{label}_pred"] = np.exp(frame["log_pred"])
        runs[f"{label}_loss_q05"], runs[f"{label}_loss_q95"] = frame["q05"], frame["q95"]
    baseline, frame = run_baseline(case, settings.seed, n_bootstrap)
    print(f"  grid-Huber bootstrap: {baseline[0]['seconds']:.0f} s", flush=True)
    frame = frame.reindex(runs.index)
    scores = point_scores(y, frame["log_pred"].to_numpy())
    rows += [{"method": row.pop("method"), **scores, **row} for row in baseline]
    runs["huber_pred"] = np.exp(frame["log_pred"])
    runs["huber_loss_q05"], runs["huber_loss_q95"] = frame["q05"], frame["q95"]
    for label in [*case.nuts, "huber"]:
        runs[f"{label}_rel_err"] = (runs[f"{label}_pred"] - runs["loss"]).abs() / runs["loss"]
    n_train = int((~case.fold.heldout).sum())
    return {
        "dataset": case.name,
        "variant": case.spec.name,
        "split": case.fold.split,
        "rule": case.fold.rule,
        "methods": [{"n_heldout": len(y), "n_train": n_train, **row} for row in rows],
        "runs": runs.reset_index().to_dict(orient="records"),
    }


def table(results: list[dict]) -> str:
    header = (
        f"{'dataset':<13}{'variant':<17}{'method':<23}{'n':>4}{'R^2':>8}{'relerr%':>9}"
        f"{'max%':>7}{'cov50':>7}{'cov90':>7}{'sec':>6}  gate"
    )
    lines = [header, "-" * len(header)]
    for result in results:
        for row in result["methods"]:
            gate = "-" if row["gate"] is None else ("pass" if row["gate"] else "FAIL")
            lines.append(
                f"{result['dataset']:<13}{result['variant']:<17}{row['method']:<23}"
                f"{row['n_heldout']:>4}{row['r2']:>8.3f}{100 * row['rel_err_mean']:>9.2f}"
                f"{100 * row['rel_err_max']:>7.2f}{row['cover50']:>7.2f}{row['cover90']:>7.2f}"
                f"{row['seconds']:>6.0f}  {gate}"
            )
    return "\n".join(lines)


def authors_comparison(results: list[dict]) -> list[dict]:
    gadre = next(r for r in results if r["dataset"] == "gadre")
    runs = {run["run_id"]: run for run in gadre["runs"]}
    out = []
    for run_id in sorted(runs):
        if "open_lm_7b" not in run_id and run_id not in AUTHORS:
            continue
        label, published = AUTHORS.get(run_id, (None, None))
        run = runs[run_id]
        out.append(
            {
                "run_id": run_id,
                "authors_label": label,
                "authors_rel_err_percent": published,
                "loss": run["loss"],
                "nuts_rel_err_percent": 100 * run["nuts_rel_err"],
                "nuts_pooled_rel_err_percent": 100 * run.get("nuts_pooled_rel_err", np.nan),
                "huber_rel_err_percent": 100 * run["huber_rel_err"],
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", type=int, default=400, help="baseline replicates")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--draws", type=int, default=None, help="default: the variant's")
    parser.add_argument("--tune", type=int, default=None, help="default: the variant's")
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument(
        "--no-chinchilla-datablations",
        dest="chinchilla_datablations",
        action="store_false",
        help="skip the chinchilla variant on datablations",
    )
    parser.add_argument(
        "--no-pooled-gadre",
        dest="pooled_gadre",
        action="store_false",
        help="skip the fit of the three gadre training datasets together",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    load_before = os.getloadavg()
    started = time.perf_counter()
    # The variant's default chains (4), draws and tuning unless --draws / --tune say otherwise.
    settings = SamplerSettings(draws=args.draws, tune=args.tune, seed=args.seed)
    results = [
        run_case(case, settings, args.bootstrap)
        for case in cases(args.shared, args.chinchilla_datablations, args.pooled_gadre)
    ]
    comparison = authors_comparison(results)
    output = {
        "settings": (
            f"NUTS: nutpie, {settings.chains} chains, draws {args.draws or 'variant default'}, "
            f"tuning {args.tune or 'variant default'}, seed {args.seed}; grid-Huber: "
            f"{args.bootstrap} run-bootstrap replicates, 3 L-BFGS-B starts each, seed as NUTS"
        ),
        "definitions": {
            "r2": "R^2 of held-out log-loss, point prediction = posterior median (nuts) or "
            "full-data point estimate (huber)",
            "rel_err_mean/max": "mean / max over held-out runs of |pred - obs| / obs on loss",
            "cover50/90": "share of held-out losses in the central 50 / 90 % interval: nuts "
            "posterior predictive incl. Student-t noise; huber_bootstrap percentile bootstrap "
            "interval of the prediction; huber_bootstrap+noise bootstrap draws plus normal "
            "noise at each replicate's robust residual scale",
            "cover50_mean/cover90_mean": "nuts interval of the law's mean alone (no noise)",
            "seconds": "wall time of the fit",
            "gate": "NUTS convergence gate (None for the baseline)",
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "total_seconds": time.perf_counter() - started,
        "results": results,
        "gadre_vs_authors": comparison,
    }
    out = args.out or Path(__file__).with_name(
        f"results-extrapolation_real-{dt.date.today().isoformat()}.json"
    )
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(output, handle, indent=1, default=float)
    print()
    print(table(results))
    print()
    print("gadre, relative error of C4 eval loss (%), vs the authors' scaling_explorer:")
    for row in comparison:
        authors = (
            f"authors {row['authors_rel_err_percent']:.4f}"
            if row["authors_rel_err_percent"] is not None
            else "authors n/a"
        )
        print(
            f"  {row['run_id']:<28} nuts {row['nuts_rel_err_percent']:6.3f}  nuts_pooled "
            f"{row['nuts_pooled_rel_err_percent']:6.3f}  huber "
            f"{row['huber_rel_err_percent']:6.3f}  {authors}"
        )
    print(f"wrote {out} ({output['total_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
