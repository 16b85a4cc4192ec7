"""Problems found in a study, each located by file, row and column."""

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class StudyIssue:
    """One problem in a study folder.

    Attributes
    ----------
    file : str
        File name inside the study folder (``runs.csv``), or the folder itself.
    message : str
        What is wrong and what was expected.
    row : int or None
        1-based data row (the header is not counted), when the problem is in a row.
    line : int or None
        1-based line of a CSV file (the header is line 1), when known.
    column : str or None
        Column name, when the problem is in a column.
    """

    file: str
    message: str
    row: int | None = None
    line: int | None = None
    column: str | None = None

    def location(self) -> str:
        """Where the problem is, as ``file, row R (line L), column 'C'``."""
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}" + (f" (line {self.line})" if self.line else ""))
        if self.column is not None:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.location()}: {self.message}"


class StudyValidationError(ValueError):
    """A study folder failed validation; ``issues`` lists every problem found."""

    def __init__(self, path: str, issues: Sequence[StudyIssue]):
        self.path = path
        self.issues = tuple(issues)
        shown = "\n".join(f"  - {issue}" for issue in self.issues)
        plural = "problem" if len(self.issues) == 1 else "problems"
        super().__init__(f"study {path} has {len(self.issues)} {plural}:\n{shown}")
