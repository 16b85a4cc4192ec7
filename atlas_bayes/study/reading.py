"""Read the raw tables of a study folder as text, keeping what is needed to locate errors."""

import csv
import re
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
    first_line : int or None
        Line number of the first data row (2 for CSV with one header line); None for Parquet,
        which has rows but no lines.
    """

    file: str
    frame: pd.DataFrame
    first_line: int | None

    def where(self, index: int) -> dict[str, int | None]:
        """Row and line of the 0-based data row ``index``, for :class:`StudyIssue`."""
        return {
            "row": index + 1,
            "line": None if self.first_line is None else index + self.first_line,
        }


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
            frame = frame_as_text(pd.read_parquet(path))
            first_line = None
        else:
            frame = _read_csv_text(path)
            first_line = 2
    except UnicodeDecodeError as err:
        return None, [
            StudyIssue(
                file,
                f"unreadable: not UTF-8 text ({err.reason} at byte "
                f"{err.start}); save the file as UTF-8 CSV",
            )
        ]
    except pd.errors.ParserError as err:
        return None, [_parser_issue(file, err)]
    except (OSError, ValueError, csv.Error) as err:
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return None, [StudyIssue(file, f"unreadable: {detail}")]
    if frame.columns.empty:
        return None, [StudyIssue(file, "is empty: expected a header line with column names")]
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.apply(lambda col: col.str.strip())
    return RawTable(file, frame, first_line), []


def _parser_issue(file: str, err: Exception) -> StudyIssue:
    text = str(err).strip()
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if match:
        expected, line, saw = (int(g) for g in match.groups())
        return StudyIssue(
            file,
            f"has {saw} fields where the header has {expected}; check for an unquoted comma",
            row=line - 1,
            line=line,
        )
    return StudyIssue(file, f"unreadable: {text.splitlines()[0] if text else type(err).__name__}")


def _read_csv_text(path: Path) -> pd.DataFrame:
    with path.open("rb") as handle:
        head = handle.read(4096)
    if b"\x00" in head:
        raise ValueError("binary content (NUL bytes); expected comma-separated text")
    with path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    names = [name.strip() for name in header]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"the header repeats column(s) {', '.join(map(repr, repeated))}")
    try:
        return pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=True,
            encoding="utf-8",
            on_bad_lines="error",
        )
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
