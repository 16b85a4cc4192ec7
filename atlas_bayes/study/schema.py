"""The study file format: which tables, which columns, and what each column must hold.

A study is a folder with ``runs``, ``mixture`` and ``evals`` tables and an optional
``languages`` table, each as ``NAME.csv`` or ``NAME.parquet``. ``docs/data-format.md`` is the
user-facing description of the same rules; this module is the one the code reads.
"""

from dataclasses import dataclass
from enum import StrEnum


class ColumnKind(StrEnum):
    """What a column holds."""

    ID = "identifier"
    TEXT = "text"
    NUMBER = "number"
    CHOICE = "choice"


@dataclass(frozen=True)
class Column:
    """One column of a study table.

    Attributes
    ----------
    name : str
        Column header.
    kind : ColumnKind
        What the cells hold.
    required : bool
        Whether the column must be present.
    allow_empty : bool
        Whether a cell may be left empty.
    minimum : float or None
        Lower bound for numbers.
    strict_minimum : bool
        Whether the bound is exclusive (``> minimum``) or inclusive (``>= minimum``).
    choices : tuple of str
        Allowed values of a ``CHOICE`` column.
    description : str
        One line for error messages and the docs.
    """

    name: str
    kind: ColumnKind
    required: bool = True
    allow_empty: bool = False
    minimum: float | None = None
    strict_minimum: bool = True
    choices: tuple[str, ...] = ()
    description: str = ""

    def expectation(self) -> str:
        """Describe in words what a cell of this column must hold."""
        if self.kind is ColumnKind.NUMBER:
            text = "a finite number"
            if self.minimum is not None:
                text += f" {'>' if self.strict_minimum else '>='} {self.minimum:g}"
        elif self.kind is ColumnKind.CHOICE:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        else:
            text = "a non-empty " + self.kind.value
        if self.allow_empty:
            text += " or an empty cell"
        return text


@dataclass(frozen=True)
class Table:
    """One table of a study: its file stem and columns."""

    name: str
    required: bool
    columns: tuple[Column, ...]
    description: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        """All column names, required first."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        """Return the column called ``name``."""
        return next(c for c in self.columns if c.name == name)


PRETRAIN = "pretrain"
FINETUNE = "finetune"
REGIMES = (PRETRAIN, FINETUNE)

RUNS = Table(
    "runs",
    required=True,
    description="one row per training run",
    columns=(
        Column("run_id", ColumnKind.ID, description="unique name of the run"),
        Column("params", ColumnKind.NUMBER, minimum=0, description="parameters N"),
        Column("regime", ColumnKind.CHOICE, choices=REGIMES, description="how training started"),
        Column(
            "base_run_id",
            ColumnKind.ID,
            required=False,
            allow_empty=True,
            description="finetune runs: the run whose final checkpoint they continue",
        ),
        Column(
            "kind",
            ColumnKind.TEXT,
            required=False,
            allow_empty=True,
            description="free label of the design cell (monolingual, bilingual, capacity, ...)",
        ),
    ),
)

MIXTURE = Table(
    "mixture",
    required=True,
    description="one row per (run, training language)",
    columns=(
        Column("run_id", ColumnKind.ID, description="a run of runs"),
        Column("language", ColumnKind.ID, description="language code"),
        Column(
            "tokens",
            ColumnKind.NUMBER,
            minimum=0,
            strict_minimum=False,
            description="tokens of the language seen in training, repeats counted",
        ),
        Column(
            "unique_tokens",
            ColumnKind.NUMBER,
            required=False,
            allow_empty=True,
            minimum=0,
            description="unique tokens available; empty means not data-constrained",
        ),
    ),
)

EVALS = Table(
    "evals",
    required=True,
    description="one row per (run, evaluation language, checkpoint)",
    columns=(
        Column("run_id", ColumnKind.ID, description="a run of runs"),
        Column("language", ColumnKind.ID, description="evaluation language"),
        Column("loss", ColumnKind.NUMBER, minimum=0, description="held-out loss, nats per token"),
        Column(
            "tokens_seen",
            ColumnKind.NUMBER,
            required=False,
            allow_empty=True,
            minimum=0,
            description="checkpoint: tokens of this run seen so far (empty: end of the run)",
        ),
    ),
)

LANGUAGES = Table(
    "languages",
    required=False,
    description="one row per language code",
    columns=(
        Column("language", ColumnKind.ID, description="language code"),
        Column("name", ColumnKind.TEXT, required=False, allow_empty=True),
        Column("script", ColumnKind.TEXT, required=False, allow_empty=True),
        Column("family", ColumnKind.TEXT, required=False, allow_empty=True),
    ),
)

TABLES: tuple[Table, ...] = (RUNS, MIXTURE, EVALS, LANGUAGES)
FILE_SUFFIXES = (".csv", ".parquet")
