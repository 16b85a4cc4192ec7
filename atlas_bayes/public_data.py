"""Readers that turn public training-run tables into studies.

The data are not shipped: tests and benchmarks read them from ``../shared/datasets/`` (each
folder's SOURCE.md gives provenance, licence and published fits). Each reader returns a
single-language :class:`~atlas_bayes.study.Study`, so every variant can be fitted to them.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from atlas_bayes.study import Study

#: Language code used for single-language public datasets.
SINGLE_LANGUAGE = "en"


def _single_language_study(
    run_ids: pd.Series,
    params: np.ndarray,
    tokens: np.ndarray,
    loss: np.ndarray,
    unique_tokens: np.ndarray | None = None,
    kind: str = "monolingual",
) -> Study:
    runs = pd.DataFrame({"run_id": run_ids, "params": params, "regime": "pretrain", "kind": kind})
    mixture = pd.DataFrame({"run_id": run_ids, "language": SINGLE_LANGUAGE, "tokens": tokens})
    if unique_tokens is not None:
        mixture["unique_tokens"] = unique_tokens
    evals = pd.DataFrame({"run_id": run_ids, "language": SINGLE_LANGUAGE, "loss": loss})
    return Study.from_frames(runs, mixture, evals)


def read_datablations(folder: str | Path, paper_subset: bool = True) -> Study:
    """Muennighoff et al. (2023) C4 runs: N, D (repeats counted), unique tokens U, loss.

    Parameters
    ----------
    folder
        ``shared/datasets/datablations``.
    paper_subset
        The 182 runs the paper fitted R_D* on (default), or all finished single-variant runs.

    Returns
    -------
    Study
    """
    folder = Path(folder)
    if paper_subset:
        table = pd.read_csv(folder / "datablations_runs_paper_fit_182.csv")
    else:
        table = pd.read_csv(folder / "datablations_runs_all.csv")
        table = table[(table["finished"] == 1) & (table["variant"].isna())]
        table = table.drop_duplicates("run_name")
    return _single_language_study(
        table["run_name"].astype(str),
        table["N"].to_numpy(float),
        table["D"].to_numpy(float),
        table["val_loss"].to_numpy(float),
        unique_tokens=table["U"].to_numpy(float),
    )


def read_epoch_chinchilla(folder: str | Path, drop_highest_losses: int = 5) -> Study:
    """Epoch AI's reconstruction of Chinchilla's runs (Besiroglu et al. 2024): N, D, loss.

    Parameters
    ----------
    folder
        ``shared/datasets/epoch-chinchilla``.
    drop_highest_losses
        Epoch's main fit drops the 5 highest-loss points (n = 240); so does this by default.

    Returns
    -------
    Study
    """
    table = pd.read_csv(Path(folder) / "chinchilla_epoch_NDL.csv")
    if drop_highest_losses:
        table = table.sort_values("loss").iloc[: len(table) - drop_highest_losses]
    table = table.reset_index(drop=True)
    return _single_language_study(
        pd.Series([f"chinchilla-{i:03d}" for i in range(len(table))]),
        table["N"].to_numpy(float),
        table["D"].to_numpy(float),
        table["loss"].to_numpy(float),
    )
