"""Readers that turn public training-run tables into studies.

The data are not shipped: tests and benchmarks read them from ``../shared/datasets/`` (each
folder's SOURCE.md gives provenance, licence and published fits). Each reader returns a
:class:`~atlas_bayes.study.Study` of monolingual pretraining runs, so every variant can be
fitted to them: a single language, except :func:`read_gadre_overtraining`, whose "languages"
are its three training datasets (see there).
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from atlas_bayes.study import Study

#: Language code used for single-language public datasets.
SINGLE_LANGUAGE = "en"


class PublicDataError(ValueError):
    """A public dataset file is missing, or lacks what a reader needs."""


def _single_language_study(
    run_ids: pd.Series,
    params: np.ndarray,
    tokens: np.ndarray,
    loss: np.ndarray,
    unique_tokens: np.ndarray | None = None,
    kind: str = "monolingual",
    language: str | np.ndarray = SINGLE_LANGUAGE,
) -> Study:
    """Monolingual pretraining runs, each trained and evaluated on its ``language``.

    ``language`` is one code for every run, or one per run (each run still sees one).
    """
    runs = pd.DataFrame({"run_id": run_ids, "params": params, "regime": "pretrain", "kind": kind})
    mixture = pd.DataFrame({"run_id": run_ids, "language": language, "tokens": tokens})
    if unique_tokens is not None:
        mixture["unique_tokens"] = unique_tokens
    evals = pd.DataFrame({"run_id": run_ids, "language": language, "loss": loss})
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


#: The file of :func:`read_gadre_overtraining` inside ``shared/datasets/gadre-overtraining``.
GADRE_FILE = "gadre_openlm_104_runs.csv"
#: Evaluation sets of the Gadre et al. runs (a loss column ``loss_<set>`` each).
GADRE_EVAL_SETS = (
    "openlm", "c4_val", "paloma_c4_en", "paloma_dolma_100_programing_languages",
    "paloma_falcon-refinedweb", "paloma_ptb", "paloma_redpajama", "val_de-en_100",
)  # fmt: skip
#: Training datasets of the Gadre et al. runs (the study's "languages").
GADRE_DATASETS = ("c4_original", "rpj", "rw_original")


def read_gadre_overtraining(
    path: str | Path,
    eval_set: str = "c4_val",
    datasets: Sequence[str] | None = None,
) -> Study:
    """Gadre et al. (2024) OpenLM runs: N, D, and the loss on one evaluation set.

    104 single-epoch runs of six model sizes (10.6M to 6.9B parameters, embeddings included)
    at token multipliers M = D / N of 5 to 640, each trained on one of three datasets (C4,
    RedPajama, RefinedWeb). The authors' scaling explorer fits its loss law per training
    dataset on the C4 evaluation loss (``eval_set="c4_val"``, the default here).

    Each training dataset becomes one "language" of the study (codes ``c4_original``,
    ``rpj``, ``rw_original``): every run trains on its dataset alone and is evaluated on
    ``eval_set`` under its dataset's code. A variant's per-language parameters are then one
    law per training dataset, as the authors fit, and a hierarchical variant pools the three
    laws partially (same model family, tokenizer and evaluation set; different data). Pass
    one dataset in ``datasets`` for a study of that dataset alone.

    Parameters
    ----------
    path
        ``shared/datasets/gadre-overtraining`` (or the CSV file in it).
    eval_set
        Evaluation set whose loss is modelled: one of :data:`GADRE_EVAL_SETS`.
    datasets
        Training datasets to keep (default: all of :data:`GADRE_DATASETS`).

    Returns
    -------
    Study
        Run ids are the file's ``name`` column (e.g. ``rpj-open_lm_1b-32.0``).

    Raises
    ------
    PublicDataError
        If the file is missing, ``eval_set`` or a dataset is unknown, a needed column is
        missing, or the chosen loss has missing or non-positive values.
    """
    path = Path(path)
    csv = path / GADRE_FILE if path.is_dir() else path
    if not csv.is_file():
        raise PublicDataError(
            f"{csv} not found; pass the gadre-overtraining folder of the shared datasets "
            f"(which holds {GADRE_FILE}) or that file"
        )
    if eval_set not in GADRE_EVAL_SETS:
        raise PublicDataError(
            f"unknown eval_set {eval_set!r}; choose from {', '.join(GADRE_EVAL_SETS)}"
        )
    table = pd.read_csv(csv)
    loss_column = f"loss_{eval_set}"
    needed = ["name", "dataset", "params", "tokens", loss_column]
    missing = [column for column in needed if column not in table.columns]
    if missing:
        raise PublicDataError(f"{csv} has no column(s) {', '.join(missing)}")
    if datasets is not None:
        unknown = sorted(set(datasets) - set(table["dataset"]))
        if unknown:
            raise PublicDataError(
                f"unknown training dataset(s) {', '.join(unknown)}; {csv.name} has "
                f"{', '.join(sorted(table['dataset'].unique()))}"
            )
        table = table[table["dataset"].isin(list(datasets))]
    loss = pd.to_numeric(table[loss_column], errors="coerce").to_numpy(float)
    bad = ~(np.isfinite(loss) & (loss > 0))
    if bad.any():
        names = ", ".join(table.loc[bad, "name"].astype(str).head(5))
        raise PublicDataError(
            f"{int(bad.sum())} run(s) of {csv.name} have no positive {loss_column} (e.g. {names})"
        )
    table = table.reset_index(drop=True)
    return _single_language_study(
        table["name"].astype(str),
        table["params"].to_numpy(float),
        table["tokens"].to_numpy(float),
        loss,
        language=table["dataset"].astype(str).to_numpy(),
    )
