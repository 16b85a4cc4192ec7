"""From a study and a variant to the arrays a model is fitted to (the fit's ``fit_data``).

The result is an ``xarray.Dataset`` so that it can be stored in the fit file and a saved fit
can predict and be refitted without the original study folder.
"""

import numpy as np
import pandas as pd
import xarray as xr

from atlas_bayes.laws import UNCONSTRAINED_UNIQUE_TOKENS
from atlas_bayes.modeling.pairs import add_transfer_pairs
from atlas_bayes.study import Study
from atlas_bayes.variants import VariantSpec
from atlas_bayes.variants.spec import FINETUNE_LAWS
from atlas_bayes.variants.transfer import OTHER_SOURCE


class ModelDataError(ValueError):
    """The study has no data the variant can be fitted to (or is unusable for it)."""


def select_runs(study: Study, spec: VariantSpec) -> pd.Index:
    """Run ids the variant is fitted to, by its ``[data]`` selection."""
    runs = study.runs.set_index("run_id")
    keep = runs["regime"].isin(spec.data.regimes)
    if spec.data.max_training_languages is not None:
        trained = study.mixture[study.mixture["tokens"] > 0].groupby("run_id")["language"].nunique()
        keep &= trained.reindex(runs.index).fillna(0) <= spec.data.max_training_languages
    if spec.data.exclude_kinds and "kind" in runs:
        keep &= ~runs["kind"].isin(spec.data.exclude_kinds)
    if spec.data.kinds and "kind" in runs:
        keep &= runs["kind"].isin(spec.data.kinds)
    return runs.index[keep.to_numpy()]


def top_sources(tokens: np.ndarray, target: np.ndarray, run: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` sources most often co-sampled with each target (ATLAS's K_t).

    Co-sampled means trained on in the same run. Counts are over distinct runs that evaluate
    the target; ties go to the source with more tokens in those runs, then to the lower index.

    Parameters
    ----------
    tokens
        Tokens by source, ``(n_obs, n_sources)``.
    target
        Source-column index of each observation's target, ``(n_obs,)``.
    run
        Run identifier of each observation, ``(n_obs,)`` (checkpoints of a run count once).
    k
        Number of top sources.

    Returns
    -------
    numpy.ndarray
        ``(n_sources, k)`` source indices, ``-1`` where a target has fewer co-sampled sources.
    """
    n_sources = tokens.shape[1]
    result = np.full((n_sources, k), -1, dtype=int)
    # One row per (run, target): checkpoints of a run count once, but a run that evaluates
    # several targets (a bilingual run) counts for each of them.
    pairs = np.char.add(np.char.add(np.asarray(run, dtype=str), "\x00"), target.astype(str))
    _, first = np.unique(pairs, return_index=True)
    for t in np.unique(target):
        rows = first[target[first] == t]
        present = tokens[rows] > 0
        counts = present.sum(axis=0).astype(float)
        volume = tokens[rows].sum(axis=0)
        counts[t] = 0
        order = np.lexsort((np.arange(n_sources), -volume, -counts))
        chosen = [s for s in order if counts[s] > 0][:k]
        result[t, : len(chosen)] = chosen
    return result


def assemble_fit_data(
    obs: xr.Dataset,
    languages: list[str],
    sources: list[str],
    top_by_language: np.ndarray,
) -> xr.Dataset:
    """Lay out observations on given language, source and top-source axes.

    Parameters
    ----------
    obs
        Observations (``Study.observations()`` layout), every ``eval_language`` in
        ``languages`` and every trained language in ``sources``.
    languages
        The per-language parameter axis.
    sources
        The source-language axis of ``tokens``.
    top_by_language
        ``(len(languages), slots)`` indices into ``sources`` (``-1``: no source in that slot).

    Returns
    -------
    xarray.Dataset
        The fit-data layout documented in :func:`build_model_data`.
    """
    eval_langs = obs["eval_language"].values.astype(str)
    # A source absent from these observations simply has no tokens here.
    tokens = obs["tokens"].reindex(language=sources, fill_value=0.0).values
    unique = obs["unique_tokens"].reindex(language=sources).values
    unique = np.where(np.isnan(unique), UNCONSTRAINED_UNIQUE_TOKENS, unique)
    target = pd.Index(languages).get_indexer(eval_langs)
    target_source = pd.Index(sources).get_indexer(eval_langs)
    rows_all = np.arange(len(target))
    # The checkpoint a finetune run starts from, over all of the study's languages (its pooled
    # "other" tokens need not be a source of the fitted runs): the target's own tokens, those
    # of the pooled "other" source, and those of the other named languages.
    base = obs["base_tokens"]
    base_total = base.sum("language").values
    own_column = pd.Index(base["language"].values).get_indexer(eval_langs)
    base_own = np.where(own_column >= 0, base.values[rows_all, own_column], 0.0)
    base_pooled = (
        base.sel(language=OTHER_SOURCE).values
        if OTHER_SOURCE in base["language"].values
        else np.zeros(len(target))
    )
    base_named = base_total - base_own - base_pooled
    n_slots = top_by_language.shape[1]
    rows = np.arange(len(target))
    is_other = np.ones_like(tokens, dtype=bool)
    is_other[rows, target_source] = False
    for slot in range(n_slots):
        chosen = top_by_language[target, slot]
        valid = chosen >= 0
        is_other[rows[valid], chosen[valid]] = False
    return xr.Dataset(
        {
            "log_loss": ("obs", np.log(obs["loss"].values)),
            "log_params": ("obs", np.log(obs["params"].values)),
            "target": ("obs", target.astype(np.int64)),
            "target_source": ("obs", target_source.astype(np.int64)),
            "finetuned": ("obs", (obs["regime"].values == "finetune").astype(np.int8)),
            "base_own_tokens": ("obs", base_own),
            "base_named_tokens": ("obs", base_named),
            "base_pooled_tokens": ("obs", base_pooled),
            "tokens": (("obs", "source"), tokens),
            "unique_tokens": (("obs", "source"), unique),
            "is_other": (("obs", "source"), is_other),
            "top_source": (("language", "slot"), top_by_language.astype(np.int64)),
        },
        coords={
            "obs": np.arange(len(target)),
            "run_id": ("obs", obs["run_id"].values.astype(str)),
            "eval_language": ("obs", eval_langs),
            "language": np.array(languages, dtype=str),
            "source": np.array(sources, dtype=str),
            "slot": np.arange(n_slots),
        },
    )


#: Attribute of prediction data whose ``pair_index`` numbers every (target, source) pair of
#: the fit's axes (not only the pairs the fit sampled).
TRANSFER_PAIRS_ATTR = "transfer_pairs"


def pool_unseen_sources(obs: xr.Dataset, unseen: list[str], sources: list[str]) -> xr.Dataset:
    """Count the tokens of sources a transfer-matrix fit never saw as its pooled "other".

    Their unique tokens add up too (a pool of several languages has the unique tokens of all
    of them); the pool is unconstrained where any of its languages is.

    Raises
    ------
    ModelDataError
        If the fit has no pooled source to count them in.
    """
    if OTHER_SOURCE not in sources:
        raise ModelDataError(
            f"cannot predict: runs train on {', '.join(unseen)}, which the fit never saw as "
            f"sources, and the fit has no pooled {OTHER_SOURCE!r} source to count them in"
        )
    pool = [OTHER_SOURCE, *unseen] if OTHER_SOURCE in obs["language"].values else unseen
    tokens = obs["tokens"].sel(language=pool)
    unique = obs["unique_tokens"].sel(language=pool)
    pooled_unique = unique.where(tokens > 0, 0.0).sum("language", skipna=False)
    pooled = xr.Dataset(
        {
            "tokens": tokens.sum("language"),
            "unique_tokens": pooled_unique.where(tokens.sum("language") > 0),
            "base_tokens": obs["base_tokens"].sel(language=pool).sum("language"),
        }
    ).expand_dims(language=[OTHER_SOURCE])
    rest = obs.drop_sel(language=pool)
    merged = xr.concat([rest[list(pooled)], pooled], dim="language")
    return obs.drop_dims("language").assign(merged)


def build_prediction_data(study: Study, fitted: xr.Dataset) -> xr.Dataset:
    """Lay out every evaluation of ``study`` on the axes of a fit's data, to predict it.

    Every evaluation is kept (no run selection): ``study`` lists what to predict. Sources the
    fit never saw join the pooled "other" sources (for a transfer matrix, their tokens are
    counted as the pooled source's, :func:`pool_unseen_sources`).

    Parameters
    ----------
    study
        The runs and (run, language) pairs to predict; losses may be missing.
    fitted
        The fit's data (its ``language``, ``source`` and ``top_source``).

    Returns
    -------
    xarray.Dataset
        Fit-data layout; ``log_loss`` is NaN where no loss was given.

    Raises
    ------
    ModelDataError
        If an evaluation language has no parameters in the fit, or a target has no tokens.
    """
    obs = study.observations()
    languages = [str(x) for x in fitted["language"].values]
    unknown = sorted(set(obs["eval_language"].values) - set(languages))
    if unknown:
        raise ModelDataError(
            f"cannot predict language(s) {', '.join(unknown)}: the fit has parameters for "
            f"{', '.join(languages)}"
        )
    trained = [s for s in obs["language"].values if obs["tokens"].sel(language=s).sum() > 0]
    sources = [str(x) for x in fitted["source"].values]
    unseen = [s for s in trained if s not in sources]
    if "pair_index" in fitted:
        # A transfer matrix has weights only for its own sources: the others are pooled.
        if unseen:
            obs = pool_unseen_sources(obs, unseen, sources)
        data = assemble_fit_data(obs, languages, sources, fitted["top_source"].values)
        # Every (target, source) pair, numbered row by row: predictions take the whole
        # posterior matrix (transfer_matrix), so pairs no fitted run trained on are predicted
        # from the feature model rather than refused.
        numbered = np.arange(len(languages) * len(sources)).reshape(len(languages), len(sources))
        data = data.assign(pair_index=(("language", "source"), numbered))
        data.attrs[TRANSFER_PAIRS_ATTR] = "all"
    else:
        data = assemble_fit_data(obs, languages, sources + unseen, fitted["top_source"].values)
    own = data["tokens"].values[np.arange(data.sizes["obs"]), data["target_source"].values]
    if np.any(own <= 0):
        first = int(np.flatnonzero(own <= 0)[0])
        raise ModelDataError(
            f"evaluation {first + 1} (run {str(data['run_id'].values[first])!r}, language "
            f"{str(data['eval_language'].values[first])!r}) has no tokens of its own language; "
            "the laws need the target's own tokens"
        )
    return data


def _languages_with_finetuning(obs: xr.Dataset, spec: VariantSpec) -> xr.Dataset:
    """Observations of the languages that have finetune runs (a crossover law's languages).

    A language without finetuning would only add head-start and penalty parameters that no
    observation informs.
    """
    finetuned = obs["regime"].values == "finetune"
    languages = set(obs["eval_language"].values[finetuned])
    if not languages:
        raise ModelDataError(
            f"variant {spec.name!r} ({spec.law} law) needs finetune runs (runs with "
            "regime = finetune and a base_run_id) of the languages it models; none selected"
        )
    return obs.isel(obs=np.flatnonzero(np.isin(obs["eval_language"].values, list(languages))))


def build_model_data(study: Study, spec: VariantSpec) -> xr.Dataset:
    """Arrays for fitting ``spec`` to ``study``.

    Parameters
    ----------
    study
        A validated study.
    spec
        The variant (its ``[data]`` section selects runs).

    Returns
    -------
    xarray.Dataset
        Dimensions ``obs``, ``language`` (evaluated targets), ``source`` (training languages)
        and ``slot`` (top sources). Variables: ``log_loss``, ``log_params``, ``target`` (index
        into ``language``), ``target_source`` (index into ``source``), ``tokens`` and
        ``unique_tokens`` (obs, source), ``top_source`` (language, slot), ``is_other``
        (obs, source: pooled into D_other). Attributes record what was dropped and why.

    Raises
    ------
    ModelDataError
        If no evaluation is left to fit.
    """
    obs = study.observations()
    keep_runs = select_runs(study, spec)
    finetuned = study.runs.loc[
        study.runs["run_id"].isin(keep_runs) & (study.runs["regime"] == "finetune"), "run_id"
    ]
    if len(finetuned) and spec.law not in FINETUNE_LAWS:
        # These laws describe training from scratch; a finetune run's base tokens would be
        # ignored and its loss misdescribed (the crossover variant models finetuning).
        raise ModelDataError(
            f"variant {spec.name!r} ({spec.law} law) describes pretraining from scratch, but "
            f"its [data] selection keeps {len(finetuned)} finetune run(s) (e.g. "
            f'{finetuned.iloc[0]!r}); set data.regimes = ["pretrain"]'
        )
    mask = np.isin(obs["run_id"].values, keep_runs)
    obs = obs.isel(obs=np.flatnonzero(mask))
    sources = [s for s in obs["language"].values if obs["tokens"].sel(language=s).sum() > 0]
    # Each evaluation's own-language tokens (0 for a language the run never trained on).
    own_column = pd.Index(obs["language"].values).get_indexer(obs["eval_language"].values)
    own = obs["tokens"].values[np.arange(obs.sizes["obs"]), own_column]
    zero_shot = own <= 0
    has_loss = np.isfinite(obs["loss"].values)
    obs = obs.isel(obs=np.flatnonzero(~zero_shot))
    if obs.sizes["obs"] == 0:
        raise ModelDataError(
            f"variant {spec.name!r} selects no evaluation of the study "
            f"(selection: {spec.data.to_dict()}); check the study's runs and the variant's [data]"
        )
    if spec.law in FINETUNE_LAWS:
        obs = _languages_with_finetuning(obs, spec)
    eval_langs = obs["eval_language"].values
    languages = [lang for lang in study.language_codes if lang in set(eval_langs)]
    sources = [s for s in study.language_codes if s in set(sources)]
    tokens = obs["tokens"].sel(language=sources).values
    target_source = pd.Index(sources).get_indexer(eval_langs)
    top = top_sources(tokens, target_source, obs["run_id"].values, spec.top_sources)
    top_by_language = top[pd.Index(sources).get_indexer(languages)]
    data = assemble_fit_data(obs, languages, sources, top_by_language)
    if spec.law == "atlas_matrix":
        data = add_transfer_pairs(data, study)
    data.attrs.update(
        {
            "dropped_zero_shot": int(zero_shot.sum()),
            "runs_selected": len(keep_runs),
            "has_loss": int(has_loss.all()),
        }
    )
    return data
