"""Read the raw tables of a study folder as text, keeping what is needed to locate errors."""

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from atlas_bayes.study.errors import StudyIssue
from atlas_bayes.study.schema import FILE_SUFFIXES, Table


@dataclass(frozen=True)
class RawTable:
    """A table read as strings, before any parsing.

    Attributes
    ----------
    file : str
        File name (``runs.csv``).
    frame : pandas.DataFrame
        Every cell as a stripped string; empty cells are ``""``.
    lines : tuple of int or None
        Line of the file on which each data row starts (CSV); None for Parquet and in-memory
        tables, which have rows but no lines.
    """

    file: str
    frame: pd.DataFrame
    lines: tuple[int, ...] | None = None

    def where(self, index: int) -> dict[str, int | None]:
        """Row and line of the 0-based data row ``index``, for :class:`StudyIssue`."""
        return {"row": index + 1, "line": None if self.lines is None else self.lines[index]}


def frame_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell of a typed table as a string, missing values as ``""``."""
    return frame.astype(object).where(frame.notna(), "").astype(str)


def find_table_file(folder: Path, table: Table) -> tuple[Path | None, list[StudyIssue]]:
    """Locate ``NAME.csv`` or ``NAME.parquet`` for ``table`` in ``folder``."""
    found = [folder / f"{table.name}{suffix}" for suffix in FILE_SUFFIXES]
    found = [p for p in found if p.exists()]
    if len(found) > 1:
        names = " and ".join(p.name for p in found)
        return None, [StudyIssue(names, f"both {names} exist; keep exactly one of them")]
    if not found:
        if table.required:
            expected = " or ".join(f"{table.name}{s}" for s in FILE_SUFFIXES)
            return None, [
                StudyIssue(
                    f"{table.name}.csv", f"missing: a study needs {expected} ({table.description})"
                )
            ]
        return None, []
    return found[0], []


def read_raw_table(path: Path) -> tuple[RawTable | None, list[StudyIssue]]:
    """Read one table file as text; report unreadable files instead of raising."""
    file = path.name
    if path.is_dir():
        return None, [StudyIssue(file, "is a folder; expected a CSV or Parquet file")]
    try:
        if path.suffix == ".parquet":
            frame, lines, issues = frame_as_text(pd.read_parquet(path)), None, []
        else:
            frame, lines, issues = _read_csv_text(path)
    except (OSError, ValueError) as err:
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return None, [StudyIssue(file, f"unreadable: {detail}")]
    if issues:
        return None, issues
    if frame.columns.empty:
        return None, [StudyIssue(file, "is empty: expected a header line with column names")]
    frame = frame.apply(lambda col: col.str.strip())
    return RawTable(file, frame, lines), []


def _read_csv_text(path: Path) -> tuple[pd.DataFrame, tuple[int, ...], list[StudyIssue]]:
    """Parse CSV with the csv module, keeping the line each record starts on.

    pandas' reader skips blank lines, joins quoted newlines and silently turns an extra first
    field into an index, all of which would make reported line numbers wrong.
    """
    file = path.name
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise ValueError("binary content (NUL bytes); expected comma-separated text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ValueError(
            f"not UTF-8 text ({err.reason} at byte offset {err.start}, line {line}); "
            "save the file as UTF-8 CSV"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[list[str]] = []
    starts: list[int] = []
    try:
        previous_end = 0
        for record in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue  # blank line
            records.append(record)
            starts.append(start)
    except csv.Error as err:
        start = previous_end + 1
        if "end of data" in str(err):
            message = f"a quoted field opened on line {start} is never closed"
        else:
            message = f"unreadable CSV: {err}"
        return pd.DataFrame(), (), [StudyIssue(file, message, line=start)]
    if not records:
        return pd.DataFrame(), (), []
    header = [name.strip() for name in records[0]]
    issues = []
    repeated = sorted({name for name in header if header.count(name) > 1})
    for name in repeated:
        issues.append(
            StudyIssue(
                file, f"the header repeats column '{name}'; name each column once", column=name
            )
        )
    for number, (record, line) in enumerate(zip(records[1:], starts[1:], strict=True), 1):
        if len(record) != len(header):
            issues.append(
                StudyIssue(
                    file,
                    f"has {len(record)} fields where the header has {len(header)}; check for "
                    "an unquoted comma or a missing value",
                    row=number,
                    line=line,
                )
            )
    if issues:
        return pd.DataFrame(), (), issues
    return pd.DataFrame(records[1:], columns=header, dtype=str), tuple(starts[1:]), []
