"""Helpers of every section's composition: tables, interval headers, small phrases."""

from collections.abc import Mapping, Sequence
from typing import Any

from atlas_bayes.intervals import interval_label
from atlas_bayes.report.document import (
    Note,
    Table,
)
from atlas_bayes.report.formatting import number


def make_table(rows: Sequence[Sequence[Any]], columns: Sequence[str], caption: str = "") -> Table:
    """A :class:`Table` of ``rows`` formatted as strings."""
    return Table(
        columns=tuple(columns),
        rows=tuple(tuple(str(cell) for cell in row) for row in rows),
        caption=caption,
    )


def interval_header(ci_prob: float, ci_kind: str) -> str:
    """The header of a column of posterior numbers: ``"mean [90% equal-tailed ...]"``."""
    return f"mean [{interval_label(ci_prob, ci_kind)}]"


def gate_note(label: str) -> Note:
    """A warning that ``label``'s numbers come from a fit that failed its gate."""
    return Note(
        f"{label} failed the convergence gate (see the warning at the top): its numbers below "
        "may be biased or unstable; refit it before acting on them.",
        "warning",
    )


def sentence(text: str) -> str:
    """``text`` ending with a full stop."""
    text = text.strip()
    return text if not text or text.endswith((".", "!", "?")) else text + "."


def run_advice(text: str, language: str) -> str:
    """Run advice for one language (or any language, for a shared parameter)."""
    return text.replace("this language", language or "a language")


def yes_no(value: bool) -> str:
    """``"yes"`` or ``"no"``."""
    return "yes" if value else "no"


def kind_counts(counts: Mapping[str, int]) -> str:
    """``"monolingual 25, bilingual 3"``."""
    return ", ".join(f"{kind} {count}" for kind, count in counts.items())


def span(low: float, high: float, unit: str) -> str:
    """``"9M to 8.45B"``: a range of values in ``unit``."""
    return f"{number(low, unit)} to {number(high, unit)}"


__all__ = [
    "gate_note",
    "interval_header",
    "kind_counts",
    "make_table",
    "run_advice",
    "sentence",
    "span",
    "yes_no",
]
