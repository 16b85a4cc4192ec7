"""The validated study: runs, mixtures and evaluations, with pandas and xarray views."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from atlas_bayes.study.errors import StudyIssue, StudyValidationError
from atlas_bayes.study.reading import RawTable, find_table_file, frame_as_text, read_raw_table
from atlas_bayes.study.schema import EVALS, LANGUAGES, MIXTURE, RUNS, TABLES
from atlas_bayes.study.validation import check_study_tables, parse_table


@dataclass(frozen=True, eq=False)
class Study:
    """A set of training runs and their evaluations, validated.

    Build one with :func:`load_study` (from a folder) or :meth:`from_frames` (in memory); both
    validate. The tables are pandas DataFrames with the columns of ``docs/data-format.md``;
    :meth:`to_dataset` and :meth:`observations` give xarray views with named dimensions.

    Attributes
    ----------
    runs, mixture, evals : pandas.DataFrame
        The three required tables.
    languages : pandas.DataFrame or None
        The optional language table (``language``, ``name``, ``script``, ``family``).
    source : pathlib.Path or None
        Folder the study was read from.
    """

    runs: pd.DataFrame
    mixture: pd.DataFrame
    evals: pd.DataFrame
    languages: pd.DataFrame | None = None
    source: Path | None = field(default=None, compare=False)

    @classmethod
    def from_frames(
        cls,
        runs: pd.DataFrame,
        mixture: pd.DataFrame,
        evals: pd.DataFrame,
        languages: pd.DataFrame | None = None,
        allow_missing_loss: bool = False,
    ) -> "Study":
        """Validate in-memory tables exactly as files would be, and build a study.

        Parameters
        ----------
        runs, mixture, evals, languages
            Tables with the columns of the file format (values of any dtype).
        allow_missing_loss
            Accept evaluations without loss (a grid of runs to predict).

        Returns
        -------
        Study

        Raises
        ------
        StudyValidationError
            With every problem found.
        """
        frames = {"runs": runs, "mixture": mixture, "evals": evals}
        if languages is not None:
            frames["languages"] = languages
        raws = {
            name: RawTable(f"{name}.csv", frame_as_text(frame)) for name, frame in frames.items()
        }
        return _build(raws, "<in memory>", None, allow_missing_loss)

    def select_runs(self, run_ids: Iterable[str]) -> "Study":
        """A validated study with only ``run_ids`` (plus the bases finetune runs need).

        Parameters
        ----------
        run_ids
            Runs to keep.

        Returns
        -------
        Study
        """
        keep = set(run_ids)
        bases = dict(zip(self.runs["run_id"], self.runs["base_run_id"], strict=True))
        for run in list(keep):
            base = bases.get(run)
            while isinstance(base, str) and base:
                keep.add(base)
                base = bases.get(base)
        runs = self.runs[self.runs["run_id"].isin(keep)]
        mixture = self.mixture[self.mixture["run_id"].isin(keep)]
        evals = self.evals[self.evals["run_id"].isin(keep)]
        loss_missing = "loss" not in evals or evals["loss"].isna().any()
        return Study.from_frames(
            runs, mixture, evals, self.languages, allow_missing_loss=loss_missing
        )

    # ------------------------------------------------------------------ basic facts
    @cached_property
    def language_codes(self) -> tuple[str, ...]:
        """Every language code used, in ``languages`` table order when there is one."""
        used = set(self.mixture["language"]) | set(self.evals["language"])
        if self.languages is not None:
            listed = [code for code in self.languages["language"] if code in used]
            return tuple(listed)
        return tuple(sorted(used))

    @cached_property
    def total_tokens(self) -> pd.Series:
        """Tokens each run trains on (its own phase; a finetune's base not included)."""
        return self.mixture.groupby("run_id")["tokens"].sum().reindex(self.runs["run_id"])

    def content_hash(self) -> str:
        """SHA-256 of the study's contents, independent of file format and row order.

        Returns
        -------
        str
            Hex digest; fits record it so predictions can check which study they came from.
        """
        digest = hashlib.sha256()
        for name, frame in self._tables().items():
            ordered = frame.sort_values(list(frame.columns)).reset_index(drop=True)
            digest.update(name.encode())
            digest.update(ordered.to_csv(index=False, float_format="%.17g").encode())
        return digest.hexdigest()

    def _tables(self) -> dict[str, pd.DataFrame]:
        tables = {"runs": self.runs, "mixture": self.mixture, "evals": self.evals}
        if self.languages is not None:
            tables["languages"] = self.languages
        return tables

    # ------------------------------------------------------------------ xarray views
    def to_dataset(self) -> xr.Dataset:
        """Runs by languages: parameters, tokens and unique tokens.

        Returns
        -------
        xarray.Dataset
            Dimensions ``run`` and ``language``. ``tokens`` is 0 where a run did not train on
            a language; ``unique_tokens`` is NaN there and where data are not constrained.
        """
        runs = self.runs.set_index("run_id")
        coords = {"run": runs.index.to_numpy(dtype=str), "language": list(self.language_codes)}
        tokens = self._mixture_matrix("tokens", fill=0.0)
        unique = self._mixture_matrix("unique_tokens", fill=np.nan)
        data = {
            "params": ("run", runs["params"].to_numpy(float)),
            "regime": ("run", runs["regime"].to_numpy(str)),
            "base_run_id": ("run", runs["base_run_id"].fillna("").to_numpy(str)),
            "tokens": (("run", "language"), tokens),
            "unique_tokens": (("run", "language"), unique),
        }
        if "kind" in runs:
            data["kind"] = ("run", runs["kind"].fillna("").to_numpy(str))
        ds = xr.Dataset(data, coords=coords)
        if self.languages is not None:
            meta = self.languages.set_index("language").reindex(coords["language"])
            for column in ("name", "script", "family"):
                if column in meta:
                    ds = ds.assign_coords(
                        {column: ("language", meta[column].fillna("").to_numpy(str))}
                    )
        ds["tokens"].attrs["units"] = "tokens"
        ds["params"].attrs["units"] = "parameters"
        return ds

    def _mixture_matrix(self, column: str, fill: float) -> np.ndarray:
        if column not in self.mixture:
            return np.full((len(self.runs), len(self.language_codes)), fill)
        table = self.mixture.pivot(index="run_id", columns="language", values=column)
        table = table.reindex(index=self.runs["run_id"], columns=list(self.language_codes))
        return table.fillna(fill).to_numpy(float)

    def observations(self) -> xr.Dataset:
        """One entry per evaluation, with the tokens seen by each language up to that point.

        A checkpoint with ``tokens_seen`` has seen each language's mixture tokens scaled by
        ``tokens_seen / total``. A finetune run also carries the tokens of its base chain in
        ``base_tokens`` (all of its base's tokens, and the base's base, and so on).

        Returns
        -------
        xarray.Dataset
            Dimension ``obs`` (one per row of ``evals``) and ``language``: ``loss``,
            ``run_id``, ``eval_language``, ``params``, ``regime``, ``fraction`` (of the run
            trained), ``tokens`` (obs, language), ``base_tokens`` (obs, language),
            ``unique_tokens`` (obs, language; NaN where not data-constrained).
        """
        ds = self.to_dataset()
        evals = self.evals.reset_index(drop=True)
        run_index = pd.Index(ds["run"].values).get_indexer(evals["run_id"])
        totals = ds["tokens"].sum("language").values[run_index]
        seen = (
            evals["tokens_seen"].to_numpy(float)
            if "tokens_seen" in evals
            else np.full(len(evals), np.nan)
        )
        fraction = np.where(np.isnan(seen), 1.0, seen / totals)
        tokens = ds["tokens"].values[run_index] * fraction[:, None]
        base = self._base_tokens(ds)[run_index]
        loss = evals["loss"].to_numpy(float) if "loss" in evals else np.full(len(evals), np.nan)
        obs = np.arange(len(evals))
        return xr.Dataset(
            {
                "loss": ("obs", loss),
                "params": ("obs", ds["params"].values[run_index]),
                "regime": ("obs", ds["regime"].values[run_index]),
                "fraction": ("obs", fraction),
                "tokens": (("obs", "language"), tokens),
                "base_tokens": (("obs", "language"), base),
                "unique_tokens": (("obs", "language"), ds["unique_tokens"].values[run_index]),
            },
            coords={
                "obs": obs,
                "language": ds["language"].values,
                "run_id": ("obs", evals["run_id"].to_numpy(str)),
                "eval_language": ("obs", evals["language"].to_numpy(str)),
            },
        )

    def _base_tokens(self, ds: xr.Dataset) -> np.ndarray:
        """Tokens by language inherited from each run's chain of bases."""
        index = {run: i for i, run in enumerate(ds["run"].values)}
        bases = ds["base_run_id"].values
        tokens = ds["tokens"].values
        inherited = np.zeros_like(tokens)
        for i in range(len(bases)):
            base = bases[i]
            while base:
                j = index[base]
                inherited[i] += tokens[j]
                base = bases[j]
        return inherited

    # ------------------------------------------------------------------ summaries
    def summary(self) -> dict[str, Any]:
        """Counts and ranges that describe the study, for reports and the CLI.

        Returns
        -------
        dict
            Runs by regime and kind, languages, parameter and token ranges, evaluations,
            checkpoints, and the data-constrained languages (those some run trains on for more
            tokens than their unique tokens, i.e. with repeated epochs).
        """
        runs = self.runs
        kinds = runs["kind"].fillna("(none)") if "kind" in runs else pd.Series("(none)", runs.index)
        obs_tokens = self.total_tokens
        if "unique_tokens" in self.mixture:
            repeats = self.mixture["tokens"] > self.mixture["unique_tokens"]
            constrained = sorted(self.mixture.loc[repeats, "language"].unique())
        else:
            constrained = []
        checkpoints = (
            int(self.evals["tokens_seen"].notna().sum()) if "tokens_seen" in self.evals else 0
        )
        return {
            "runs": len(runs),
            "runs_by_regime": runs["regime"].value_counts().to_dict(),
            "runs_by_kind": kinds.value_counts().to_dict(),
            "languages": len(self.language_codes),
            "training_languages": int(self.mixture["language"].nunique()),
            "evaluation_languages": int(self.evals["language"].nunique()),
            "params_range": (float(runs["params"].min()), float(runs["params"].max())),
            "model_sizes": int(runs["params"].nunique()),
            "tokens_range": (float(obs_tokens.min()), float(obs_tokens.max())),
            "evaluations": len(self.evals),
            "checkpoint_evaluations": checkpoints,
            "data_constrained_languages": constrained,
            "content_hash": self.content_hash(),
        }


def load_study(path: str | Path, allow_missing_loss: bool = False) -> Study:
    """Read and validate a study folder.

    Parameters
    ----------
    path
        Folder holding ``runs``, ``mixture``, ``evals`` and optionally ``languages``, each as
        ``.csv`` or ``.parquet``.
    allow_missing_loss
        Accept evaluations without loss: a study listing runs to predict.

    Returns
    -------
    Study

    Raises
    ------
    StudyValidationError
        Listing every problem found, each with its file, row and column.
    """
    folder = Path(path)
    if not folder.exists():
        raise StudyValidationError(str(folder), [StudyIssue(str(folder), "does not exist")])
    if not folder.is_dir():
        raise StudyValidationError(
            str(folder), [StudyIssue(str(folder), "is not a folder; a study is a folder of tables")]
        )
    issues: list[StudyIssue] = []
    raws: dict[str, RawTable] = {}
    for table in TABLES:
        file, found = find_table_file(folder, table)
        issues += found
        if file is None:
            continue
        raw, read_issues = read_raw_table(file)
        issues += read_issues
        if raw is not None:
            raws[table.name] = raw
    if issues:
        raise StudyValidationError(str(folder), issues)
    return _build(raws, str(folder), folder, allow_missing_loss)


def _build(
    raws: dict[str, RawTable], label: str, source: Path | None, allow_missing_loss: bool
) -> Study:
    issues: list[StudyIssue] = []
    frames: dict[str, pd.DataFrame] = {}
    schemas = {"runs": RUNS, "mixture": MIXTURE, "evals": EVALS, "languages": LANGUAGES}
    for name, raw in raws.items():
        optional: Iterable[str] = ("loss",) if name == "evals" and allow_missing_loss else ()
        frame, found = parse_table(raw, schemas[name], optional)
        issues += found
        if frame is not None:
            frames[name] = frame
    if issues:
        raise StudyValidationError(label, issues)
    issues = check_study_tables(raws, frames)
    if issues:
        raise StudyValidationError(label, issues)
    runs = frames["runs"]
    if "base_run_id" not in runs:
        runs = runs.assign(base_run_id=None)
    return Study(
        runs=runs.reset_index(drop=True),
        mixture=frames["mixture"].reset_index(drop=True),
        evals=frames["evals"].reset_index(drop=True),
        languages=frames.get("languages"),
        source=source,
    )


def validate_study(path: str | Path, allow_missing_loss: bool = False) -> list[StudyIssue]:
    """Every problem in a study folder; an empty list means it is valid.

    Parameters
    ----------
    path
        The study folder.
    allow_missing_loss
        Accept evaluations without loss.

    Returns
    -------
    list of StudyIssue
    """
    try:
        load_study(path, allow_missing_loss=allow_missing_loss)
    except StudyValidationError as err:
        return list(err.issues)
    return []


__all__ = ["Study", "load_study", "validate_study"]
