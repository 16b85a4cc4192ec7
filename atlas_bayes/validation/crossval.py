"""Grouped cross-validation of variants: fit on training runs, score held-out predictions.

For each variant (and fit method), split and fold, the variant is fitted to the fold's
training observations and predicts the held-out ones; :mod:`atlas_bayes.validation.metrics`
scores them (R^2 and absolute error of log-loss, held-out elpd, 50 % and 90 % predictive
coverage). The Bayesian refits reuse one compiled model per variant and process
(:mod:`atlas_bayes.validation.methods`). Folds run one after another in this process, or as
Dask tasks on a cluster (:mod:`atlas_bayes.validation.cluster`); a fold's seed depends only
on the base seed and its (variant, method, split, fold), so both give the same numbers.
"""

import dataclasses
import datetime as dt
import hashlib
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from atlas_bayes.inference import SamplerSettings
from atlas_bayes.modeling.data import ModelDataError, build_model_data, build_prediction_data
from atlas_bayes.study import Study
from atlas_bayes.validation.methods import (
    NUTS,
    CVEntry,
    nuts_fit,
    point_fit,
    predictive,
)
from atlas_bayes.validation.metrics import heldout_metrics
from atlas_bayes.validation.result import COLUMNS, INTEGER_COLUMNS, CVResult
from atlas_bayes.validation.splits import Fold, SplitNotApplicable, get_split, make_folds
from atlas_bayes.variants import VariantSpec, load_variant

#: Sampler settings of a cross-validation fit unless given: 2 chains x 500 draws after 500
#: tuning steps. Held-out scores need predictive quantiles, not ESS in the thousands, and
#: every fold is a full fit.
DEFAULT_SETTINGS = SamplerSettings(chains=2, draws=500, tune=500)


@dataclass(frozen=True)
class FoldTask:
    """Everything one fold's fit needs besides the (shared) data.

    Attributes
    ----------
    entry : CVEntry
        Variant and method.
    fold : Fold
        Held-out mask over the variant's fit data (and extra runs).
    key : str
        Identifies (variant, study) for the per-process compiled-model cache.
    settings : SamplerSettings
        Sampler settings with the fold's seed.
    n_unpredicted : int
        Held-out evaluations of extra runs that cannot be predicted (languages the variant
        has no parameters for, zero-shot evaluations).
    note : str
        Why evaluations were left out, if any were.
    """

    entry: CVEntry
    fold: Fold
    key: str
    settings: SamplerSettings
    n_unpredicted: int = 0
    note: str = ""


def fold_seed(base: int, *labels: str) -> int:
    """The seed of one fold: a fixed function of the base seed and the fold's labels."""
    return (base * 1_000_003 + zlib.crc32("|".join(labels).encode())) % 2**32


def as_entry(item: VariantSpec | CVEntry | str) -> CVEntry:
    """A :class:`CVEntry` from an entry, a spec, or a variant name or path."""
    if isinstance(item, CVEntry):
        return item
    if isinstance(item, VariantSpec):
        return CVEntry(item)
    return CVEntry(load_variant(item))


def extra_data(
    study: Study, template: xr.Dataset, runs: Sequence[str]
) -> tuple[xr.Dataset | None, int, str]:
    """Evaluations of runs outside a variant's fit data, laid out to be predicted.

    Kept: evaluations with a loss, of a language the variant has parameters for, by a run
    that trained on that language (the laws need the target's own tokens). When the runs
    cannot all be predicted together (an ``atlas_matrix`` fit without a pooled "other" source
    has nowhere to count a source it never saw), each run is tried alone and the predictable
    ones are kept.

    Returns
    -------
    tuple
        The data (None if nothing is left), how many evaluations were left out, and why.
    """
    runs = list(runs)
    evals = study.evals[study.evals["run_id"].isin(runs)]
    mixture = study.mixture[study.mixture["run_id"].isin(runs)]
    trained = pd.MultiIndex.from_frame(mixture.loc[mixture["tokens"] > 0, ["run_id", "language"]])
    known = np.isin(evals["language"].to_numpy(str), template["language"].values.astype(str))
    own = pd.MultiIndex.from_frame(evals[["run_id", "language"]]).isin(trained)
    has_loss = evals["loss"].notna().to_numpy() if "loss" in evals else np.zeros(len(evals), bool)
    keep = known & own & has_loss
    dropped = int((~keep).sum())
    reasons = []
    if (~known).any():
        reasons.append(f"{int((~known).sum())} of languages the variant has no parameters for")
    if (known & ~own).any():
        reasons.append(f"{int((known & ~own).sum())} zero-shot (the run never trained on it)")
    note = ""
    if dropped:
        note = f"{dropped} held-out evaluation(s) not predicted: {', '.join(reasons)}"
    if not keep.any():
        return None, dropped, note
    evals = evals[keep]

    def layout(chosen: Sequence[str]) -> xr.Dataset:
        subset = Study.from_frames(
            study.runs[study.runs["run_id"].isin(chosen)],
            mixture[mixture["run_id"].isin(chosen)],
            evals[evals["run_id"].isin(chosen)],
            study.languages,
        )
        return build_prediction_data(subset, template)

    try:
        return layout(runs), dropped, note
    except ModelDataError as first:
        error = first
    predictable = []
    for run in evals["run_id"].unique():
        try:
            layout([run])
            predictable.append(run)
        except ModelDataError:
            continue
    lost = int((~evals["run_id"].isin(predictable)).sum())
    why = f"{lost} held-out evaluation(s) of {len(evals['run_id'].unique()) - len(predictable)} "
    why += f"run(s) not predicted (e.g. {error})"
    note = "; ".join(n for n in (note, why) if n)
    if not predictable:
        return None, dropped + lost, note
    return layout(predictable), dropped + lost, note


def _heldout_pairs(datasets: Sequence[xr.Dataset]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": np.concatenate([d["run_id"].values.astype(str) for d in datasets]),
            "language": np.concatenate([d["eval_language"].values.astype(str) for d in datasets]),
        }
    )


def run_fold(
    task: FoldTask, template: xr.Dataset, extra: xr.Dataset | None, study: Study | None
) -> dict[str, Any]:
    """Fit one fold and score its held-out predictions (a Dask task, or called directly).

    Parameters
    ----------
    task
        The fold.
    template
        The variant's full fit data.
    extra
        Held-out evaluations of runs outside the fit data, or None.
    study
        The full study (needed by point-fit methods only).

    Returns
    -------
    dict
        One row of the per-fold table.
    """
    entry, fold = task.entry, task.fold
    train = np.flatnonzero(~fold.heldout)
    datasets = [template.isel(obs=np.flatnonzero(fold.heldout))]
    if extra is not None:
        datasets.append(extra)
    datasets = [d for d in datasets if d.sizes["obs"] > 0]
    started = time.perf_counter()
    row: dict[str, Any] = {"converged": None, "divergences": None, "max_rhat": None}
    if entry.fit_method is None:
        fit = nuts_fit(task.key, template, entry.spec, train, task.settings)
        row.update(
            converged=bool(fit.diagnostics.passed),
            divergences=int(fit.diagnostics.divergences),
            max_rhat=float(fit.diagnostics.max_rhat),
        )
    else:
        if study is None:
            raise ValueError("a point-fit method needs the study")
        fit = point_fit(entry, study, _heldout_pairs(datasets), template, task.settings.seed)
    fit_seconds = time.perf_counter() - started
    parts = [predictive(fit, d) for d in datasets]
    mu = np.concatenate([p.mu for p in parts], axis=1)
    y = np.concatenate([d["log_loss"].values for d in datasets])
    languages = np.concatenate([d["eval_language"].values.astype(str) for d in datasets])
    runs = np.concatenate([d["run_id"].values.astype(str) for d in datasets])
    predicted = np.isfinite(mu).all(axis=0)
    notes = [task.note] if task.note else []
    if not predicted.all():
        notes.append(
            f"{int((~predicted).sum())} held-out evaluation(s) of languages missing from the "
            "method's draws not scored"
        )
    scores = heldout_metrics(
        y[predicted], mu[:, predicted], parts[0].sigma, parts[0].nu, languages[predicted]
    )
    row.update(
        scores,
        n_train=len(train),
        n_heldout=int(predicted.sum()),
        n_train_runs=len(np.unique(template["run_id"].values[train])),
        n_heldout_runs=len(np.unique(runs[predicted])),
        n_unpredicted=task.n_unpredicted + int((~predicted).sum()),
        seed=task.settings.seed,
        fit_seconds=fit_seconds,
        note="; ".join(notes),
    )
    return row


def _labels(task: FoldTask) -> dict[str, Any]:
    return {
        "variant": task.entry.spec.name,
        "method": task.entry.method,
        "split": task.fold.split,
        "fold": task.fold.name,
        "rule": task.fold.rule,
    }


def _empty_row(entry: CVEntry, split: str, fold: str, note: str, **extra: Any) -> dict:
    return {
        "variant": entry.spec.name,
        "method": entry.method,
        "split": split,
        "fold": fold,
        "n_heldout": 0,
        "n_train": 0,
        "note": note,
        **extra,
    }


def _versions() -> dict[str, str]:
    out = {}
    for name in ("atlas-bayes", "pymc", "nutpie", "dask", "distributed"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _run(tasks, shared, client) -> list[dict[str, Any]]:
    """Rows of ``tasks`` in order: here, or as Dask tasks on ``client``."""
    if client is None:
        return [run_fold(task, *shared[i]) for i, task in enumerate(tasks)]
    scattered: dict[int, Any] = {}

    def put(value: Any) -> Any:
        # A Dataset is a Mapping, which scatter would split into its variables: wrap in a list.
        if value is None:
            return None
        if id(value) not in scattered:
            scattered[id(value)] = client.scatter([value], broadcast=True)[0]
        return scattered[id(value)]

    futures = [
        client.submit(run_fold, task, put(template), extra, put(study), pure=False)
        for task, (template, extra, study) in zip(tasks, shared, strict=True)
    ]
    return client.gather(futures)


def cross_validate(
    study: Study,
    specs: Sequence[VariantSpec | CVEntry | str],
    splits: Sequence[str],
    settings: SamplerSettings | None = None,
    client: Any = None,
) -> CVResult:
    """Grouped cross-validation of variants on ``study``.

    Parameters
    ----------
    study
        A validated study.
    specs
        Variants (specs, names, or :class:`CVEntry` with a point-fit method).
    splits
        Split names (:data:`atlas_bayes.validation.splits.SPLITS`).
    settings
        Sampler settings of every NUTS fit (default :data:`DEFAULT_SETTINGS`); each fold's
        seed is derived from ``settings.seed`` (:func:`fold_seed`).
    client
        None: folds run one after another in this process. A ``dask.distributed.Client``:
        one task per fold on its cluster, NUTS with one core per task unless
        ``settings.cores`` says otherwise (see :func:`atlas_bayes.validation.cluster.local_client`
        for a local cluster over this machine's cores). A string: the address of a running
        scheduler to connect to.

    Returns
    -------
    CVResult

    Raises
    ------
    SplitError
        An unknown split name (before anything is fitted).
    """
    for name in splits:
        get_split(name)
    if isinstance(client, str):
        from atlas_bayes.validation.cluster import connect

        with connect(client) as connected:
            return cross_validate(study, specs, splits, settings, connected)
    settings = settings or DEFAULT_SETTINGS
    if client is not None and settings.cores is None:
        settings = dataclasses.replace(settings, cores=1)
    entries = [as_entry(item) for item in specs]
    started = time.perf_counter()
    study_hash = study.content_hash()
    templates: dict[str, xr.Dataset] = {}
    tasks: list[FoldTask] = []
    shared: list[tuple[xr.Dataset, xr.Dataset | None, Study | None]] = []
    rows: list[tuple[int, dict[str, Any]]] = []  # (position, row) of folds not fitted
    for entry in entries:
        spec = entry.spec
        key = hashlib.sha256((spec.to_json() + study_hash).encode()).hexdigest()
        if key not in templates:
            templates[key] = build_model_data(study, spec)
        template = templates[key]
        for split in splits:
            try:
                folds = make_folds(split, template, study)
            except SplitNotApplicable as err:
                rows.append((len(tasks), _empty_row(entry, split, "-", f"not applicable: {err}")))
                continue
            for fold in folds:
                extra, dropped, note = (None, 0, "")
                if fold.extra_runs:
                    extra, dropped, note = extra_data(study, template, fold.extra_runs)
                if fold.n_heldout == 0 and extra is None:
                    rows.append(
                        (len(tasks), _empty_row(entry, split, fold.name, note, rule=fold.rule))
                    )
                    continue
                seed = fold_seed(settings.seed, spec.name, entry.method, split, fold.name)
                fold_settings = dataclasses.replace(settings, seed=seed)
                tasks.append(FoldTask(entry, fold, key, fold_settings, dropped, note))
                shared.append((template, extra, study if entry.fit_method else None))
    fitted = _run(tasks, shared, client)
    ordered: list[dict[str, Any]] = []
    skipped = iter(rows)
    pending = next(skipped, None)
    for position, (task, row) in enumerate(zip(tasks, fitted, strict=True)):
        while pending is not None and pending[0] == position:
            ordered.append(pending[1])
            pending = next(skipped, None)
        ordered.append({**_labels(task), **row})
    while pending is not None:
        ordered.append(pending[1])
        pending = next(skipped, None)
    table = pd.DataFrame(ordered).reindex(columns=list(COLUMNS))
    # Counts and seeds stay exact integers (a float seed printed with 6 digits is useless).
    table = table.astype({column: "Int64" for column in INTEGER_COLUMNS})
    meta = {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "study_hash": study_hash,
        "study_source": str(study.source) if study.source else "",
        "variants": [e.spec.name for e in entries],
        "methods": [e.method for e in entries],
        "splits": list(splits),
        "sampler": {
            "sampler": settings.sampler,
            "chains": settings.chains,
            "draws": settings.draws,
            "tune": settings.tune,
            "seed": settings.seed,
            "cores_per_fit": settings.cores,
        },
        "parallel": "serial" if client is None else f"dask ({_n_workers(client)} workers)",
        "seconds": time.perf_counter() - started,
        "versions": _versions(),
        "method_default": NUTS,
    }
    return CVResult(table=table, meta=meta)


def _n_workers(client: Any) -> int:
    try:
        return len(client.scheduler_info()["workers"])
    except Exception:  # a client without scheduler info still ran the tasks
        return -1


__all__ = [
    "DEFAULT_SETTINGS",
    "FoldTask",
    "as_entry",
    "cross_validate",
    "extra_data",
    "fold_seed",
    "run_fold",
]
