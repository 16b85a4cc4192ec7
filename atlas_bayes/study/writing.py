"""Write a study folder atomically: all files appear at once, or none do."""

from collections.abc import Mapping
from pathlib import Path

from atlas_bayes.atomic import atomic_folder
from atlas_bayes.study.study import Study

#: Numbers in written CSV files: 10 significant digits keeps token counts exact and losses far
#: below their noise while making files reproducible byte for byte.
FLOAT_FORMAT = "%.10g"


def write_study(
    study: Study,
    out: str | Path,
    extra_files: Mapping[str, str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``study`` as CSV files (plus any extra text files) into the folder ``out``.

    The folder is assembled under a temporary name beside ``out`` and renamed into place, so
    an interrupted write leaves no half-written study.

    Parameters
    ----------
    study
        The study to write.
    out
        Destination folder; must not exist unless ``overwrite``.
    extra_files
        File name -> text content, written beside the tables (``truth.json``, ``README.md``).
    overwrite
        Replace an existing folder.

    Returns
    -------
    pathlib.Path
        The written folder.

    Raises
    ------
    FileExistsError
        If ``out`` exists and ``overwrite`` is false.
    """
    with atomic_folder(out, overwrite=overwrite) as staging:
        tables = {"runs": study.runs, "mixture": study.mixture, "evals": study.evals}
        if study.languages is not None:
            tables["languages"] = study.languages
        for name, frame in tables.items():
            frame.to_csv(staging / f"{name}.csv", index=False, float_format=FLOAT_FORMAT)
        for name, text in (extra_files or {}).items():
            (staging / name).write_text(text, encoding="utf-8")
    return Path(out)
