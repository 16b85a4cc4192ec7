"""Held-out splits for cross-validation: which observations a fold predicts without seeing.

Every split is a function ``split(data, study) -> list[Fold]`` of a variant's fit data (from
:func:`atlas_bayes.modeling.data.build_model_data`) and the study it came from. A fold's
``heldout`` is a boolean mask over the fit data's ``obs``; the rest is the training set.
Splits are grouped by run: every evaluation (checkpoint, language) of a run falls on the same
side, because the checkpoints of a real run share its seed and data order, so holding out one
checkpoint while training on its neighbours would flatter the law. The one exception is
:func:`leave_one_language_out`, grouped by (run, evaluation language); see there.

The splits follow ATLAS's Table 1 (Longpre et al. 2025, arXiv 2510.22037): R^2 random 20 %
(:func:`random_runs`; :func:`kfold_runs` predicts every run once), R^2(N)
(:func:`largest_params`), R^2(D) (:func:`top_tokens`), R^2(C) (:func:`largest_compute`) and
R^2(M) (:func:`unseen_mixtures`); :func:`leave_one_language_out` adds unseen languages.
Run-level rankings ("top 20 %") count runs, and a value shared by several runs (one model
size, one bilingual configuration) is never split: the rules are in :func:`top_runs`.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from atlas_bayes.study import Study

#: Share of runs the "top" splits hold out at least.
HELDOUT_FRACTION = 0.2
#: Seed of :func:`random_runs` (fixed so that every variant and method sees the same folds).
RANDOM_SPLIT_SEED = 0
#: Run kinds ATLAS's R^2(M) trains on; any other pretraining kind is an unseen mixture.
#: ``monolingual_multilingual_vocab`` runs are monolingual mixtures (only the vocabulary
#: differs); ``finetune`` is a training regime, not a mixture, and is never held out here.
SEEN_MIXTURE_KINDS = frozenset(
    {"monolingual", "monolingual_multilingual_vocab", "bilingual", "unimax", "finetune"}
)


class SplitError(ValueError):
    """A split that does not exist, or cannot be made on these data."""


class SplitNotApplicable(SplitError):
    """The split is well defined but holds out nothing (or everything) on these data."""


@dataclass(frozen=True)
class Fold:
    """One train/held-out partition.

    Attributes
    ----------
    split : str
        Name of the split the fold belongs to.
    name : str
        The fold's name within its split (``"all"`` for single-fold splits, the language for
        leave-one-language-out).
    heldout : numpy.ndarray
        Boolean mask over the fit data's ``obs``: True is predicted, False is trained on.
    extra_runs : tuple of str
        Runs outside the fit data (the variant's ``[data]`` selection left them out) whose
        evaluations are predicted too; only :func:`unseen_mixtures` uses them.
    rule : str
        What was held out, in words (for tables and reports).
    """

    split: str
    name: str
    heldout: np.ndarray
    extra_runs: tuple[str, ...] = field(default=())
    rule: str = ""

    @property
    def n_heldout(self) -> int:
        """Held-out evaluations of the fit data (extra runs not counted)."""
        return int(self.heldout.sum())


#: A split: fit data and its study to folds.
SplitFunction = Callable[[xr.Dataset, Study | None], list[Fold]]


def run_values(data: xr.Dataset) -> pd.DataFrame:
    """One row per run of the fit data: parameters, final tokens and 6ND compute.

    A run's tokens are the most any of its evaluations had seen (its last checkpoint), summed
    over training languages; compute is ``6 N D`` with those tokens.

    Parameters
    ----------
    data
        Fit data.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``run_id``: ``params``, ``tokens``, ``compute``.
    """
    frame = pd.DataFrame(
        {
            "run_id": data["run_id"].values.astype(str),
            # exp(log N) is off in the last digits (4e9 -> 3.999999999999998e9): round back.
            "params": [float(f"{n:.12g}") for n in np.exp(data["log_params"].values)],
            "tokens": data["tokens"].sum("source").values,
        }
    )
    runs = frame.groupby("run_id", sort=True).agg(
        params=("params", "max"), tokens=("tokens", "max")
    )
    runs["compute"] = 6.0 * runs["params"] * runs["tokens"]
    return runs


def top_runs(
    values: pd.Series, fraction: float = HELDOUT_FRACTION, rule: str = "at_least"
) -> pd.Index:
    """Runs with the largest values, about ``fraction`` of them, ties never split.

    Distinct values are taken from the largest down, each with all of its runs (every run of
    a held-out model size is held out). ``rule`` says where to stop:

    - ``"at_least"``: at the first value where at least ``fraction`` of the runs are taken
      (with a few model sizes this can be well above ``fraction``);
    - ``"nearest"``: at the value whose cumulative share of runs is nearest ``fraction`` (at
      least one value). A design with many runs at one token count (97 bilingual runs of one
      configuration on the bundled study) would otherwise push a "top 20 %" to 35 %.

    Parameters
    ----------
    values
        One value per run, indexed by run id.
    fraction
        Share of runs to reach, in (0, 1).
    rule
        ``"at_least"`` or ``"nearest"``.

    Returns
    -------
    pandas.Index
        Held-out run ids.

    Raises
    ------
    SplitNotApplicable
        If the rule would hold out every run (one distinct value covers them all).
    """
    if not 0 < fraction < 1:
        raise SplitError(f"fraction must be in (0, 1), got {fraction}")
    if rule not in ("at_least", "nearest"):
        raise SplitError(f"rule must be 'at_least' or 'nearest', got {rule!r}")
    counts = values.value_counts().sort_index(ascending=False)
    needed = fraction * len(values)
    taken = np.cumsum(counts.to_numpy())
    # The first distinct value at which the cumulative count reaches the target...
    stop = int(np.searchsorted(taken, needed - 1e-9))
    if rule == "nearest" and stop > 0 and needed - taken[stop - 1] < taken[stop] - needed:
        stop -= 1  # ...or the one before it, when that is nearer
    threshold = counts.index[stop]
    held = values.index[values.to_numpy() >= threshold]
    if len(held) == len(values):
        raise SplitNotApplicable(
            f"all {len(values)} runs share the largest value {threshold:.4g}; nothing is left "
            "to train on"
        )
    return held


def _mask_of_runs(data: xr.Dataset, runs: Iterable[str]) -> np.ndarray:
    return np.isin(data["run_id"].values.astype(str), np.asarray(list(runs), dtype=str))


def _top_split(name: str, column: str, words: str, data: xr.Dataset, rule: str) -> list[Fold]:
    runs = run_values(data)
    held = top_runs(runs[column], rule=rule)
    low = runs.loc[held, column].min()
    rule = (
        f"{words} >= {low:.3g}: {len(held)} of {len(runs)} runs "
        f"({len(held) / len(runs):.0%}), every evaluation of each"
    )
    return [Fold(name, "all", _mask_of_runs(data, held), rule=rule)]


def largest_params(data: xr.Dataset, study: Study | None = None) -> list[Fold]:
    """Hold out the largest model sizes (ATLAS's R^2(N)).

    Rule (:func:`top_runs`): whole model sizes from the largest down until at least 20 % of
    the fit data's runs are held out. ATLAS held out its 660M and 8B models; a fixed list of
    sizes would not transfer to other studies, the largest sizes are what extrapolation in N
    needs.

    Parameters
    ----------
    data
        Fit data.
    study
        Unused (the signature of every split).

    Returns
    -------
    list of Fold
        One fold.
    """
    return _top_split("largest_params", "params", "parameters", data, "at_least")


def top_tokens(data: xr.Dataset, study: Study | None = None) -> list[Fold]:
    """Hold out the runs with the most training tokens, top 20 % of runs (ATLAS's R^2(D)).

    A run's tokens are those of its last evaluated checkpoint, all languages together. Rule
    (:func:`top_runs`, ``"nearest"``): the top token counts whose runs come nearest 20 % of
    the fit data's runs, ties unsplit.

    Parameters
    ----------
    data
        Fit data.
    study
        Unused.

    Returns
    -------
    list of Fold
        One fold.
    """
    return _top_split("top_tokens", "tokens", "training tokens", data, "nearest")


def largest_compute(data: xr.Dataset, study: Study | None = None) -> list[Fold]:
    """Hold out the runs with the largest compute ``6 N D``, top 20 % of runs (R^2(C)).

    ``D`` is the run's tokens as in :func:`top_tokens`; the rule is that of
    :func:`top_tokens` (nearest 20 % of runs, ties unsplit).

    Parameters
    ----------
    data
        Fit data.
    study
        Unused.

    Returns
    -------
    list of Fold
        One fold.
    """
    return _top_split("largest_compute", "compute", "compute 6ND (FLOPs)", data, "nearest")


def random_runs(
    data: xr.Dataset,
    study: Study | None = None,
    fraction: float = HELDOUT_FRACTION,
    seed: int = RANDOM_SPLIT_SEED,
) -> list[Fold]:
    """Hold out a random ``fraction`` of runs (ATLAS's interpolation R^2, "random 20 %").

    Parameters
    ----------
    data
        Fit data.
    study
        Unused.
    fraction
        Share of runs held out (rounded to whole runs, at least one).
    seed
        Seed of the draw; fixed by default so every variant gets the same runs.

    Returns
    -------
    list of Fold
        One fold.
    """
    runs = np.unique(data["run_id"].values.astype(str))
    if len(runs) < 2:
        raise SplitNotApplicable("a random split needs at least two runs")
    n_held = min(len(runs) - 1, max(1, round(fraction * len(runs))))
    held = np.random.default_rng(seed).choice(runs, size=n_held, replace=False)
    rule = f"random {n_held} of {len(runs)} runs (seed {seed}), every evaluation of each"
    return [Fold("random_runs", "all", _mask_of_runs(data, held), rule=rule)]


#: Folds of :func:`kfold_runs`.
KFOLD_FOLDS = 5


def kfold_runs(
    data: xr.Dataset,
    study: Study | None = None,
    k: int = KFOLD_FOLDS,
    seed: int = RANDOM_SPLIT_SEED,
) -> list[Fold]:
    """Grouped K-fold: runs shuffled and dealt into ``k`` folds; every point held out once.

    Interpolation, like :func:`random_runs`, but every evaluation is predicted once, so
    pooled coverage and the K-fold elpd use all the data.

    Parameters
    ----------
    data
        Fit data.
    study
        Unused.
    k
        Number of folds (at most the number of runs).
    seed
        Seed of the shuffle.

    Returns
    -------
    list of Fold
        ``k`` folds named ``"1"`` to ``"k"``.
    """
    runs = np.unique(data["run_id"].values.astype(str))
    if len(runs) < 2:
        raise SplitNotApplicable("K-fold needs at least two runs")
    k = min(k, len(runs))
    order = np.random.default_rng(seed).permutation(runs)
    folds = []
    for i in range(k):
        held = order[i::k]
        rule = f"fold {i + 1} of {k}: {len(held)} of {len(runs)} runs (seed {seed})"
        folds.append(Fold("kfold_runs", str(i + 1), _mask_of_runs(data, held), rule=rule))
    return folds


def _kind_of_runs(study: Study) -> pd.Series:
    runs = study.runs.set_index("run_id")
    if "kind" not in runs:
        raise SplitNotApplicable(
            "unseen_mixtures needs the runs table's kind column (monolingual, bilingual, "
            "unimax, ...); this study has none"
        )
    return runs["kind"].fillna("").astype(str)


def unseen_mixtures(data: xr.Dataset, study: Study | None = None) -> list[Fold]:
    """Hold out mixtures of kinds other than monolingual, bilingual and Unimax (R^2(M)).

    Training keeps the fit data's runs of the seen kinds (:data:`SEEN_MIXTURE_KINDS`); every
    pretraining run of another kind is predicted, including runs the variant's ``[data]``
    selection leaves out (on the bundled study the ``atlas`` variant excludes the ``capacity``
    runs, uniform mixtures of K languages, which are exactly its unseen mixtures): those come
    back as the fold's ``extra_runs``.

    Parameters
    ----------
    data
        Fit data.
    study
        The study (its ``kind`` column).

    Returns
    -------
    list of Fold
        One fold.

    Raises
    ------
    SplitNotApplicable
        If the study has no pretraining run of an unseen kind, or no kind column.
    """
    if study is None:
        raise SplitError("unseen_mixtures needs the study (its runs' kind column)")
    kinds = _kind_of_runs(study)
    regime = study.runs.set_index("run_id")["regime"]
    unseen = kinds.index[(~kinds.isin(SEEN_MIXTURE_KINDS) & (regime == "pretrain")).to_numpy()]
    if len(unseen) == 0:
        present = ", ".join(sorted(set(kinds) - {""})) or "none"
        raise SplitNotApplicable(
            "no unseen mixtures: every pretraining run is monolingual, bilingual or unimax "
            f"(kinds in the study: {present})"
        )
    in_data = set(np.unique(data["run_id"].values.astype(str)))
    mask = _mask_of_runs(data, unseen)
    if mask.all():
        raise SplitNotApplicable(
            "every run of the fit data is an unseen mixture; nothing is left to train on"
        )
    extra = tuple(sorted(set(unseen) - in_data))
    names = ", ".join(sorted(set(kinds.loc[unseen])))
    rule = (
        f"runs of kind {names}: {len(unseen)} runs ({len(unseen) - len(extra)} in the fit data, "
        f"{len(extra)} outside the variant's selection)"
    )
    return [Fold("unseen_mixtures", "all", mask, extra_runs=extra, rule=rule)]


def leave_one_language_out(data: xr.Dataset, study: Study | None = None) -> list[Fold]:
    """One fold per evaluation language: predict a language from the others alone.

    Grouped by (run, evaluation language), not by run: a fold holds out every evaluation of
    its language (all checkpoints of every run), while a bilingual run's evaluation of its
    other language stays in training, since it holds no loss of the held-out language. The
    language's own parameters then come from the population (its hierarchical prior updated
    by the other languages); transfer parameters it shares are still learned.

    Parameters
    ----------
    data
        Fit data.
    study
        Unused.

    Returns
    -------
    list of Fold
        One fold per evaluation language, in the fit data's language order.

    Raises
    ------
    SplitNotApplicable
        With fewer than two evaluation languages.
    """
    languages = [str(x) for x in data["language"].values]
    evaluated = data["eval_language"].values.astype(str)
    present = [lang for lang in languages if (evaluated == lang).any()]
    if len(present) < 2:
        raise SplitNotApplicable(
            f"leave-one-language-out needs at least two evaluation languages; the fit data "
            f"have {', '.join(present) or 'none'}"
        )
    return [
        Fold(
            "leave_one_language_out",
            lang,
            evaluated == lang,
            rule=f"every evaluation of {lang} ({int((evaluated == lang).sum())})",
        )
        for lang in present
    ]


#: The splits by name.
SPLITS: dict[str, SplitFunction] = {
    "random_runs": random_runs,
    "kfold_runs": kfold_runs,
    "largest_params": largest_params,
    "top_tokens": top_tokens,
    "largest_compute": largest_compute,
    "unseen_mixtures": unseen_mixtures,
    "leave_one_language_out": leave_one_language_out,
}


def get_split(name: str) -> SplitFunction:
    """The split called ``name``.

    Raises
    ------
    SplitError
        For an unknown name; the message lists the known ones.
    """
    if name not in SPLITS:
        raise SplitError(f"unknown split {name!r}; choose from {', '.join(SPLITS)}")
    return SPLITS[name]


def make_folds(name: str, data: xr.Dataset, study: Study | None = None) -> list[Fold]:
    """The folds of split ``name`` on ``data`` (see :data:`SPLITS`).

    Parameters
    ----------
    name
        A split's name.
    data
        Fit data.
    study
        The study the data came from (needed by :func:`unseen_mixtures`).

    Returns
    -------
    list of Fold

    Raises
    ------
    SplitError
        Unknown name; :class:`SplitNotApplicable` when the split holds out nothing here.
    """
    folds = get_split(name)(data, study)
    for fold in folds:
        if fold.n_heldout == 0 and not fold.extra_runs:
            raise SplitNotApplicable(f"split {name!r} holds out nothing on these data")
    return folds


__all__ = [
    "HELDOUT_FRACTION",
    "SEEN_MIXTURE_KINDS",
    "SPLITS",
    "Fold",
    "SplitError",
    "SplitFunction",
    "SplitNotApplicable",
    "get_split",
    "kfold_runs",
    "largest_compute",
    "largest_params",
    "leave_one_language_out",
    "make_folds",
    "random_runs",
    "run_values",
    "top_runs",
    "top_tokens",
    "unseen_mixtures",
]
