"""Bootstrap replicates that resample training runs, not evaluations.

The evaluations of one run (its checkpoints, and its evaluation languages) share the run's
model and data and its seed's luck: they are not independent observations. A replicate draws
runs with replacement and keeps all evaluations of each drawn run, as often as it was drawn.
Runs are drawn within strata, the set of languages a run is evaluated on in the fitted data
(for monolingual runs: per language), so that every replicate keeps each language's number
of runs: a language's parameters are then identified in every replicate, as when the paper
fits each language on its own runs.
"""

import numpy as np
import pandas as pd


def run_strata(run_id: np.ndarray, language: np.ndarray) -> pd.Series:
    """Each run's stratum: the sorted languages it is evaluated on, joined by ``+``.

    Parameters
    ----------
    run_id, language
        Run and evaluation language of each observation.

    Returns
    -------
    pandas.Series
        Indexed by run id, in order of first appearance.
    """
    frame = pd.DataFrame({"run": np.asarray(run_id, dtype=str), "lang": np.asarray(language)})
    strata = frame.groupby("run", sort=False)["lang"].agg(lambda x: "+".join(sorted(set(x))))
    return strata


def bootstrap_weights(
    run_id: np.ndarray, language: np.ndarray, n_replicates: int, seed: int
) -> np.ndarray:
    """How often each observation enters each replicate, by resampling its run.

    Parameters
    ----------
    run_id, language
        Run and evaluation language of each observation.
    n_replicates
        Number of bootstrap replicates.
    seed
        Seed of the draws (the same seed gives the same replicates).

    Returns
    -------
    numpy.ndarray
        ``(n_replicates, n_obs)`` float counts; all evaluations of a run share one count, and
        the counts of a stratum's runs sum to its number of runs.
    """
    rng = np.random.default_rng(seed)
    strata = run_strata(run_id, language)
    runs = strata.index.to_numpy()
    counts = np.zeros((n_replicates, len(runs)))
    for stratum in pd.unique(strata.to_numpy()):
        members = np.flatnonzero(strata.to_numpy() == stratum)
        drawn = rng.integers(0, len(members), size=(n_replicates, len(members)))
        for r in range(n_replicates):
            counts[r, members] = np.bincount(drawn[r], minlength=len(members))
    column = pd.Index(runs).get_indexer(np.asarray(run_id, dtype=str))
    return counts[:, column]


__all__ = ["bootstrap_weights", "run_strata"]
