"""Recreate ``tests/data/bad_studies/`` from ``tests/data/good_study/``.

Each case is a copy of the good study with ONE defect and an ``EXPECT.json`` naming where the
error must point: ``{"file", "row", "column", "message_contains"}`` (``row`` is the 1-based data
row, header not counted; ``row``/``column`` are null when the problem has no row or column).
A case may also carry ``"xfail"``: the reason the package does not (yet) report it as expected.

Run from the repository root::

    python tests/data/make_bad_studies.py

The output is deterministic; the generated folders are committed alongside this script.
"""

import csv
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
GOOD = HERE / "good_study"
BAD = HERE / "bad_studies"

Rows = list[list[str]]


# ---------------------------------------------------------------------------- helpers
def read_rows(folder: Path, name: str) -> Rows:
    """Header and data rows of ``folder/name`` (a CSV file)."""
    with (folder / name).open(newline="", encoding="utf-8") as handle:
        return [row for row in csv.reader(handle)]


def write_rows(folder: Path, name: str, rows: Rows) -> None:
    """Write rows as CSV with ``\\n`` line ends and minimal quoting."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    (folder / name).write_text(buffer.getvalue(), encoding="utf-8", newline="")


def edit(name: str, change: Callable[[Rows], None]) -> Callable[[Path], None]:
    """A defect that edits the rows of one CSV file in place."""

    def apply(folder: Path) -> None:
        rows = read_rows(folder, name)
        change(rows)
        write_rows(folder, name, rows)

    return apply


def set_cell(name: str, row: int, column: str, value: str) -> Callable[[Path], None]:
    """Set the cell at 1-based data ``row`` and ``column`` of ``name``."""

    def change(rows: Rows) -> None:
        rows[row][rows[0].index(column)] = value

    return edit(name, change)


def append_row(name: str, *values: str) -> Callable[[Path], None]:
    """Append one data row to ``name``."""
    return edit(name, lambda rows: rows.append(list(values)))


def delete(name: str) -> Callable[[Path], None]:
    """Remove a file of the study."""
    return lambda folder: (folder / name).unlink()


def write_bytes(name: str, data: bytes) -> Callable[[Path], None]:
    """Replace a file with raw bytes."""
    return lambda folder: (folder / name).write_bytes(data)


def expect(
    file: str, row: int | None, column: str | None, message: str, xfail: str | None = None
) -> dict:
    """The ``EXPECT.json`` content of a case."""
    out = {"file": file, "row": row, "column": column, "message_contains": message}
    if xfail:
        out["xfail"] = xfail
    return out


# ---------------------------------------------------------------------------- defects
def drop_column(name: str, column: str) -> Callable[[Path], None]:
    def change(rows: Rows) -> None:
        j = rows[0].index(column)
        for row in rows:
            del row[j]

    return edit(name, change)


def add_column(name: str, column: str, value: str) -> Callable[[Path], None]:
    def change(rows: Rows) -> None:
        rows[0].append(column)
        for row in rows[1:]:
            row.append(value)

    return edit(name, change)


def rename_header(name: str, old: str, new: str) -> Callable[[Path], None]:
    def change(rows: Rows) -> None:
        rows[0][rows[0].index(old)] = new

    return edit(name, change)


def remove_rows(name: str, column: str, value: str) -> Callable[[Path], None]:
    def change(rows: Rows) -> None:
        j = rows[0].index(column)
        rows[1:] = [row for row in rows[1:] if row[j] != value]

    return edit(name, change)


def extra_field(name: str, row: int) -> Callable[[Path], None]:
    def change(rows: Rows) -> None:
        rows[row].append("oops")

    return edit(name, change)


def missing_field(name: str, row: int) -> Callable[[Path], None]:
    def change(rows: Rows) -> None:
        rows[row].pop()

    return edit(name, change)


def base_cycle(folder: Path) -> None:
    rows = read_rows(folder, "runs.csv")
    header = rows[0]
    regime, base = header.index("regime"), header.index("base_run_id")
    # defr_small (row 5) and fr_ft_small (row 6) each continue the other.
    rows[5][regime], rows[5][base] = "finetune", "fr_ft_small"
    rows[6][base] = "defr_small"
    write_rows(folder, "runs.csv", rows)


def zero_tokens_for(run_id: str) -> Callable[[Path], None]:
    def change(rows: Rows) -> None:
        j, t = rows[0].index("run_id"), rows[0].index("tokens")
        for row in rows[1:]:
            if row[j] == run_id:
                row[t] = "0"

    return edit("mixture.csv", change)


def not_utf8(folder: Path) -> None:
    # A spreadsheet on Windows saving as cp1252 instead of UTF-8.
    text = (folder / "languages.csv").read_text(encoding="utf-8").replace("French", "Français")
    (folder / "languages.csv").write_bytes(text.encode("cp1252"))


def with_parquet(folder: Path) -> None:
    frame = pd.read_csv(folder / "runs.csv", dtype=str, keep_default_na=False)
    frame.to_parquet(folder / "runs.parquet", index=False)


def unterminated_quote(folder: Path) -> None:
    # Written by hand: the csv writer would balance the quote.
    with (folder / "evals.csv").open("a", encoding="utf-8", newline="") as handle:
        handle.write('en_small,en,"3.1,\n')


def table_is_folder(folder: Path) -> None:
    (folder / "evals.csv").unlink()
    (folder / "evals.csv").mkdir()
    (folder / "evals.csv" / "README.txt").write_text("a folder where a file belongs\n")


BINARY = bytes(range(256)) * 4  # NUL bytes and everything else

CASES: dict[str, tuple[Callable[[Path], None], dict]] = {
    # files
    "missing_runs_file": (
        delete("runs.csv"),
        expect("runs.csv", None, None, "missing: a study needs"),
    ),
    "missing_evals_file": (delete("evals.csv"), expect("evals.csv", None, None, "missing")),
    "empty_file": (write_bytes("evals.csv", b""), expect("evals.csv", None, None, "is empty")),
    "binary_garbage": (
        write_bytes("runs.csv", BINARY),
        expect("runs.csv", None, None, "binary content (NUL bytes)"),
    ),
    "not_utf8": (not_utf8, expect("languages.csv", None, None, "not UTF-8 text")),
    "both_csv_and_parquet": (
        with_parquet,
        expect("runs.csv and runs.parquet", None, None, "both runs.csv and runs.parquet exist"),
    ),
    "table_is_folder": (table_is_folder, expect("evals.csv", None, None, "is a folder")),
    "unterminated_quote": (
        unterminated_quote,
        expect("evals.csv", None, None, "is never closed"),
    ),
    # header
    "missing_required_column": (
        drop_column("runs.csv", "params"),
        expect("runs.csv", None, "params", "missing required column 'params'"),
    ),
    "unknown_column": (
        add_column("evals.csv", "notes", "ok"),
        expect("evals.csv", None, "notes", "unknown column 'notes'"),
    ),
    "duplicated_header_column": (
        rename_header("runs.csv", "kind", "regime"),
        expect("runs.csv", None, "regime", "the header repeats column 'regime'"),
    ),
    "too_many_fields": (
        extra_field("runs.csv", 3),
        expect("runs.csv", 3, None, "has 6 fields where the header has 5"),
    ),
    "too_few_fields": (
        missing_field("evals.csv", 2),
        expect("evals.csv", 2, None, "has 3 fields where the header has 4"),
    ),
    "too_many_fields_first_row": (
        extra_field("runs.csv", 1),
        expect("runs.csv", 1, None, "has 6 fields where the header has 5"),
    ),
    # cells of runs
    "duplicate_run_id": (
        append_row("runs.csv", "en_small", "3e8", "pretrain", "", "monolingual"),
        expect("runs.csv", 7, "run_id", "duplicate run_id='en_small' (first at row 1)"),
    ),
    "params_zero": (
        set_cell("runs.csv", 2, "params", "0"),
        expect("runs.csv", 2, "params", "expected a finite number > 0, got 0"),
    ),
    "params_negative": (
        set_cell("runs.csv", 3, "params", "-1e8"),
        expect("runs.csv", 3, "params", "expected a finite number > 0, got -1e8"),
    ),
    "params_text": (
        set_cell("runs.csv", 4, "params", "abc"),
        expect("runs.csv", 4, "params", "got 'abc'"),
    ),
    "params_thousands_separator": (
        set_cell("runs.csv", 1, "params", "1,000"),
        expect("runs.csv", 1, "params", "got '1,000'"),
    ),
    "params_nan": (
        set_cell("runs.csv", 5, "params", "nan"),
        expect("runs.csv", 5, "params", "'nan' is not allowed"),
    ),
    "params_empty": (
        set_cell("runs.csv", 2, "params", ""),
        expect("runs.csv", 2, "params", "empty cell; expected a finite number > 0"),
    ),
    "regime_invalid": (
        set_cell("runs.csv", 3, "regime", "pre-train"),
        expect("runs.csv", 3, "regime", "expected one of 'pretrain', 'finetune', got 'pre-train'"),
    ),
    "run_id_empty": (
        set_cell("runs.csv", 2, "run_id", ""),
        expect("runs.csv", 2, "run_id", "empty cell"),
    ),
    # bases
    "finetune_without_base": (
        set_cell("runs.csv", 6, "base_run_id", ""),
        expect("runs.csv", 6, "base_run_id", "a finetune run needs base_run_id"),
    ),
    "finetune_unknown_base": (
        set_cell("runs.csv", 6, "base_run_id", "en_tiny"),
        expect("runs.csv", 6, "base_run_id", "base_run_id 'en_tiny' is not a run_id of runs.csv"),
    ),
    "pretrain_with_base": (
        set_cell("runs.csv", 4, "base_run_id", "en_small"),
        expect("runs.csv", 4, "base_run_id", "a pretrain run starts from scratch"),
    ),
    "base_cycle": (
        base_cycle,
        expect("runs.csv", 5, "base_run_id", "bases cannot form a cycle"),
    ),
    "base_self_reference": (
        set_cell("runs.csv", 6, "base_run_id", "fr_ft_small"),
        expect("runs.csv", 6, "base_run_id", "leads back to run 'fr_ft_small'"),
    ),
    # mixture
    "mixture_unknown_run": (
        append_row("mixture.csv", "xx_small", "en", "1e9", ""),
        expect("mixture.csv", 9, "run_id", "'xx_small' is not a run_id of runs.csv"),
    ),
    "tokens_negative": (
        set_cell("mixture.csv", 1, "tokens", "-2e9"),
        expect("mixture.csv", 1, "tokens", "expected a finite number >= 0, got -2e9"),
    ),
    "tokens_inf": (
        set_cell("mixture.csv", 2, "tokens", "inf"),
        expect("mixture.csv", 2, "tokens", "'inf' is not allowed"),
    ),
    "unique_tokens_zero": (
        set_cell("mixture.csv", 3, "unique_tokens", "0"),
        expect("mixture.csv", 3, "unique_tokens", "expected a finite number > 0 or an empty cell"),
    ),
    "mixture_duplicate_pair": (
        append_row("mixture.csv", "enfr_small", "en", "5e8", ""),
        expect(
            "mixture.csv",
            9,
            "run_id",
            "duplicate run_id='enfr_small', language='en' (first at row 4)",
        ),
    ),
    "run_without_mixture": (
        remove_rows("mixture.csv", "run_id", "en_large"),
        expect("runs.csv", 2, "run_id", "run 'en_large' has no rows in mixture.csv"),
    ),
    "run_zero_tokens": (
        zero_tokens_for("enfr_small"),
        expect("runs.csv", 4, "run_id", "run 'enfr_small' has 0 training tokens"),
    ),
    # evals
    "eval_unknown_run": (
        append_row("evals.csv", "xx_small", "en", "3.1", ""),
        expect("evals.csv", 12, "run_id", "'xx_small' is not a run_id of runs.csv"),
    ),
    "loss_zero": (
        set_cell("evals.csv", 6, "loss", "0"),
        expect("evals.csv", 6, "loss", "expected a finite number > 0, got 0"),
    ),
    "loss_negative": (
        set_cell("evals.csv", 7, "loss", "-3.3"),
        expect("evals.csv", 7, "loss", "got -3.3"),
    ),
    "loss_empty": (
        set_cell("evals.csv", 8, "loss", ""),
        expect("evals.csv", 8, "loss", "empty cell; expected a finite number > 0"),
    ),
    "loss_nan": (
        set_cell("evals.csv", 4, "loss", "NaN"),
        expect("evals.csv", 4, "loss", "'NaN' is not allowed"),
    ),
    "tokens_seen_exceeds_total": (
        set_cell("evals.csv", 2, "tokens_seen", "5e9"),
        expect("evals.csv", 2, "tokens_seen", "exceeds the 2e+09 tokens run 'en_small' trains on"),
    ),
    "tokens_seen_zero": (
        set_cell("evals.csv", 5, "tokens_seen", "0"),
        expect("evals.csv", 5, "tokens_seen", "expected a finite number > 0 or an empty cell"),
    ),
    "evals_duplicate_checkpoint": (
        append_row("evals.csv", "en_small", "en", "3.7", "1e9"),
        expect("evals.csv", 12, "run_id", "one row per (run_id, language, tokens_seen)"),
    ),
    # languages
    "mixture_language_not_listed": (
        remove_rows("languages.csv", "language", "de"),
        expect("mixture.csv", 6, "language", "'de' is not listed in languages.csv"),
    ),
    "eval_language_not_listed": (
        append_row("evals.csv", "en_small", "es", "6.2", ""),
        expect("evals.csv", 12, "language", "'es' is not listed in languages.csv"),
    ),
    "languages_duplicate": (
        append_row("languages.csv", "fr", "French", "Latin", "Indo-European"),
        expect("languages.csv", 4, "language", "duplicate language='fr' (first at row 2)"),
    ),
}


def main() -> None:
    """Delete and regenerate every case folder."""
    if BAD.exists():
        shutil.rmtree(BAD)
    BAD.mkdir()
    for name, (defect, expected) in CASES.items():
        folder = BAD / name
        shutil.copytree(GOOD, folder)
        defect(folder)
        text = json.dumps(expected, indent=2, ensure_ascii=False) + "\n"
        (folder / "EXPECT.json").write_text(text, encoding="utf-8")
    print(f"wrote {len(CASES)} cases to {BAD}")


if __name__ == "__main__":
    main()
