"""Files shipped with the package: the published numbers, the bundled study, model variants.

In a wheel they live under ``atlas_bayes/_data/`` (see ``[tool.hatch...force-include]`` in
``pyproject.toml``); in a source checkout (editable install) they are the repository's
``data/`` and ``models/`` folders.
"""

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_REPO_DIR = _PACKAGE_DIR.parent


def data_path(name: str) -> Path:
    """Path of a shipped data file or folder, e.g. ``"atlas_sim"`` or ``"atlas_published.json"``.

    Parameters
    ----------
    name
        Name inside ``data/``.

    Returns
    -------
    pathlib.Path
        The wheel's copy if present, else the source tree's.

    Raises
    ------
    FileNotFoundError
        If neither exists.
    """
    for candidate in (_PACKAGE_DIR / "_data" / name, _REPO_DIR / "data" / name):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        f"shipped data {name!r} not found under {_PACKAGE_DIR / '_data'} "
        f"or {_REPO_DIR / 'data'}; reinstall atlas_bayes"
    )


def models_path() -> Path:
    """Folder of the shipped model variants (one TOML file per variant)."""
    for candidate in (_PACKAGE_DIR / "_data" / "models", _REPO_DIR / "models"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"model variants not found under {_PACKAGE_DIR / '_data'} or {_REPO_DIR}"
    )


def bundled_study_path() -> Path:
    """The bundled simulated ATLAS study (seed 11)."""
    return data_path("atlas_sim")


#: Seed of the bundled simulated study.
BUNDLED_STUDY_SEED = 11
