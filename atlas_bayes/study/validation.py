"""Check study tables cell by cell and across tables; every problem names file, row, column."""

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from atlas_bayes.study.errors import StudyIssue
from atlas_bayes.study.reading import RawTable
from atlas_bayes.study.schema import (
    FINETUNE,
    PRETRAIN,
    Column,
    ColumnKind,
    Table,
)


def parse_table(
    raw: RawTable, table: Table, optional_columns: Iterable[str] = ()
) -> tuple[pd.DataFrame | None, list[StudyIssue]]:
    """Parse a raw text table into typed columns.

    Parameters
    ----------
    raw
        The table as read from disk.
    table
        Its schema.
    optional_columns
        Columns that are required by the schema but may be absent or empty in this use (the
        ``loss`` of an evaluation grid to predict).

    Returns
    -------
    frame, issues
        The typed table (None when its header is unusable) and the problems found. Numbers are
        float64 with NaN for empty cells; identifiers and text are strings with None for empty.
    """
    optional = set(optional_columns)
    issues: list[StudyIssue] = []
    present = list(raw.frame.columns)
    for column in table.columns:
        if column.required and column.name not in present and column.name not in optional:
            issues.append(
                StudyIssue(
                    raw.file,
                    f"missing required column '{column.name}' ({column.description}); "
                    f"the header has {', '.join(map(repr, present))}",
                    column=column.name,
                )
            )
    for name in present:
        if name not in table.column_names:
            issues.append(
                StudyIssue(
                    raw.file,
                    f"unknown column '{name}'; {raw.file} may have "
                    + ", ".join(map(repr, table.column_names)),
                    column=name,
                )
            )
    if issues:
        return None, issues
    typed = {}
    for column in table.columns:
        if column.name not in present:
            continue
        allow_empty = column.allow_empty or column.name in optional
        values, column_issues = _parse_column(raw, column, allow_empty)
        typed[column.name] = values
        issues.extend(column_issues)
    return pd.DataFrame(typed, index=raw.frame.index), issues


def _parse_column(
    raw: RawTable, column: Column, allow_empty: bool
) -> tuple[pd.Series, list[StudyIssue]]:
    issues = []
    cells = raw.frame[column.name]
    is_number = column.kind is ColumnKind.NUMBER
    parsed = np.full(len(cells), np.nan) if is_number else np.empty(len(cells), dtype=object)
    for i, cell in enumerate(cells):

        def problem(message: str, i: int = i) -> None:
            issues.append(StudyIssue(raw.file, message, column=column.name, **raw.where(i)))

        if cell == "":
            if not allow_empty:
                problem(f"empty cell; expected {column.expectation()}")
            if not is_number:
                parsed[i] = None
            continue
        if is_number:
            value = _parse_number(cell)
            if value is None:
                problem(f"expected {column.expectation()}, got {cell!r}")
            elif math.isnan(value) or math.isinf(value):
                problem(f"{cell!r} is not allowed; expected {column.expectation()}")
            elif column.minimum is not None and (
                value <= column.minimum if column.strict_minimum else value < column.minimum
            ):
                problem(f"expected {column.expectation()}, got {cell}")
            else:
                parsed[i] = value
        elif column.kind is ColumnKind.CHOICE and cell not in column.choices:
            problem(f"expected {column.expectation()}, got {cell!r}")
            parsed[i] = cell
        else:
            parsed[i] = cell
    return pd.Series(parsed, index=cells.index, name=column.name), issues


def _parse_number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def check_study_tables(
    raws: dict[str, RawTable], frames: dict[str, pd.DataFrame]
) -> list[StudyIssue]:
    """Checks that span rows or tables: unique ids, references, languages, checkpoints.

    Parameters
    ----------
    raws
        Raw tables by table name, for locating rows.
    frames
        Typed tables by name (``runs``, ``mixture``, ``evals``, optional ``languages``) whose
        cells all passed :func:`parse_table`.

    Returns
    -------
    list of StudyIssue
    """
    issues: list[StudyIssue] = []
    runs, mixture, evals = frames["runs"], frames["mixture"], frames["evals"]
    issues += _duplicates(raws["runs"], runs, ["run_id"], "run_id must be unique")
    issues += _check_bases(raws["runs"], runs)
    run_ids = set(runs["run_id"])
    for name in ("mixture", "evals"):
        issues += _unknown_values(
            raws[name], frames[name], "run_id", run_ids, f"not a run_id of {raws['runs'].file}"
        )
    issues += _duplicates(
        raws["mixture"], mixture, ["run_id", "language"], "one row per (run_id, language)"
    )
    eval_key = evals.assign(_checkpoint=evals.get("tokens_seen", np.nan)).fillna(
        {"_checkpoint": -1.0}
    )
    issues += _duplicates(
        raws["evals"],
        eval_key,
        ["run_id", "language", "_checkpoint"],
        "one row per (run_id, language, tokens_seen)",
        shown_columns=["run_id", "language", "tokens_seen"],
    )
    totals = mixture.groupby("run_id")["tokens"].sum()
    issues += _check_run_totals(raws["runs"], runs, totals, raws["mixture"].file)
    if "tokens_seen" in evals:
        issues += _check_checkpoints(raws["evals"], evals, totals)
    if "languages" in frames:
        languages = frames["languages"]
        issues += _duplicates(raws["languages"], languages, ["language"], "each language once")
        known = set(languages["language"])
        for name in ("mixture", "evals"):
            issues += _unknown_values(
                raws[name],
                frames[name],
                "language",
                known,
                f"not listed in {raws['languages'].file}; add it there",
                first_only=True,
            )
    return issues


def _duplicates(
    raw: RawTable,
    frame: pd.DataFrame,
    key: list[str],
    rule: str,
    shown_columns: list[str] | None = None,
) -> list[StudyIssue]:
    repeated = frame.duplicated(key, keep=False)
    if not repeated.any():
        return []
    issues = []
    first_row: dict[tuple, int] = {}
    for i, row_key in enumerate(frame[key].itertuples(index=False, name=None)):
        if not repeated.iloc[i]:
            continue
        if row_key not in first_row:
            first_row[row_key] = i
            continue
        shown = {c: frame[c].iloc[i] for c in (shown_columns or key) if c in frame}
        described = ", ".join(f"{c}={v!r}" for c, v in shown.items() if not _is_missing(v))
        issues.append(
            StudyIssue(
                raw.file,
                f"duplicate {described} (first at row {first_row[row_key] + 1}); {rule}",
                column=key[0],
                **raw.where(i),
            )
        )
    return issues


def _is_missing(value: object) -> bool:
    # pandas 3 stores missing strings as NaN in its string dtype, not None.
    return value is None or bool(pd.isna(value))


def _unknown_values(
    raw: RawTable,
    frame: pd.DataFrame,
    column: str,
    known: set[str],
    explanation: str,
    first_only: bool = False,
) -> list[StudyIssue]:
    issues = []
    reported = set()
    for i, value in enumerate(frame[column]):
        if _is_missing(value) or value in known or (first_only and value in reported):
            continue
        reported.add(value)
        suffix = " (first use; later rows not listed)" if first_only else ""
        issues.append(
            StudyIssue(
                raw.file, f"{value!r} is {explanation}{suffix}", column=column, **raw.where(i)
            )
        )
    return issues


def _check_bases(raw: RawTable, runs: pd.DataFrame) -> list[StudyIssue]:
    issues = []
    base_column = [
        None if _is_missing(b) else b for b in runs.get("base_run_id", [None] * len(runs))
    ]
    run_ids = set(runs["run_id"])
    base_of = dict(zip(runs["run_id"], base_column, strict=True))
    for i, (run_id, regime, base) in enumerate(
        zip(runs["run_id"], runs["regime"], base_column, strict=True)
    ):
        where = raw.where(i)
        if regime == FINETUNE and base is None:
            issues.append(
                StudyIssue(
                    raw.file,
                    "a finetune run needs base_run_id: the run whose checkpoint it continues",
                    column="base_run_id",
                    **where,
                )
            )
        elif regime == PRETRAIN and base is not None:
            issues.append(
                StudyIssue(
                    raw.file,
                    f"a pretrain run starts from scratch and has no base_run_id (got {base!r}); "
                    "use regime 'finetune' for continued training",
                    column="base_run_id",
                    **where,
                )
            )
        elif base is not None and base not in run_ids:
            issues.append(
                StudyIssue(
                    raw.file,
                    f"base_run_id {base!r} is not a run_id of {raw.file}",
                    column="base_run_id",
                    **where,
                )
            )
        elif base is not None and _base_chain_loops(run_id, base_of):
            issues.append(
                StudyIssue(
                    raw.file,
                    f"base_run_id {base!r} leads back to run {run_id!r}; bases cannot form a cycle",
                    column="base_run_id",
                    **where,
                )
            )
    return issues


def _base_chain_loops(run_id: str, base_of: dict[str, str | None]) -> bool:
    seen = {run_id}
    current = base_of.get(run_id)
    while current is not None:
        if current in seen:
            return True
        seen.add(current)
        current = base_of.get(current)
    return False


def _check_run_totals(
    raw: RawTable, runs: pd.DataFrame, totals: pd.Series, mixture_file: str
) -> list[StudyIssue]:
    issues = []
    for i, run_id in enumerate(runs["run_id"]):
        total = totals.get(run_id)
        if total is None:
            issues.append(
                StudyIssue(
                    raw.file,
                    f"run {run_id!r} has no rows in {mixture_file}: what did it train on?",
                    column="run_id",
                    **raw.where(i),
                )
            )
        elif total <= 0:
            issues.append(
                StudyIssue(
                    raw.file,
                    f"run {run_id!r} has 0 training tokens in {mixture_file}",
                    column="run_id",
                    **raw.where(i),
                )
            )
    return issues


def _check_checkpoints(raw: RawTable, evals: pd.DataFrame, totals: pd.Series) -> list[StudyIssue]:
    issues = []
    for i, (run_id, seen) in enumerate(zip(evals["run_id"], evals["tokens_seen"], strict=True)):
        total = totals.get(run_id)
        if total is None or np.isnan(seen):
            continue
        if seen > total * (1 + 1e-9):
            issues.append(
                StudyIssue(
                    raw.file,
                    f"tokens_seen {seen:g} exceeds the {total:g} tokens run {run_id!r} trains on",
                    column="tokens_seen",
                    **raw.where(i),
                )
            )
    return issues
