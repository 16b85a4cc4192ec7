"""Published numbers of the ATLAS paper and related scaling-law papers, with citations.

The numbers live in ``data/atlas_published.json`` (transcribed from
``shared/reference/atlas-paper.md``). Every leaf item carries its value, a citation key,
the table/section/figure it comes from, and whether it is *derived* (arithmetic on
published numbers) rather than printed.

Examples
--------
>>> published_value("curse.phi")
0.11
>>> published("crossover.tokens.en").where
'Sec. 5 text'
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from atlas_bayes.resources import data_path

#: Path of the JSON file: the copy shipped in a wheel if present, else the repository's.
PUBLISHED_PATH: Path = data_path("atlas_published.json")

_RESERVED = ("_about", "sources")


@dataclass(frozen=True)
class PublishedValue:
    """One published (or derived) number with its provenance.

    Attributes
    ----------
    value : Any
        The number, or a small object (dict/list) of numbers or strings.
    source : str
        Citation key into the ``sources`` table of the JSON file.
    where : str
        Table, section or figure of the cited paper the value comes from.
    derived : bool
        True when the value is arithmetic on published numbers, not printed.
    note : str or None
        Optional remark (printed form, caveats, inconsistencies).
    """

    value: Any
    source: str
    where: str
    derived: bool = False
    note: str | None = None

    @property
    def citation(self) -> str:
        """Full citation string of :attr:`source`.

        Returns
        -------
        str
            The ``cite`` entry of the source in the JSON ``sources`` table.
        """
        return load_published()["sources"][self.source]["cite"]


@cache
def load_published() -> dict[str, Any]:
    """Load and cache the raw JSON of published numbers.

    Returns
    -------
    dict
        The parsed contents of :data:`PUBLISHED_PATH`. Treat it as read-only: it is cached.
    """
    with PUBLISHED_PATH.open(encoding="utf-8") as fh:
        return json.load(fh)


def _is_item(node: Any) -> bool:
    return isinstance(node, dict) and "value" in node and "source" in node


def _to_value(node: dict[str, Any]) -> PublishedValue:
    return PublishedValue(
        value=node["value"],
        source=node["source"],
        where=node["where"],
        derived=bool(node.get("derived", False)),
        note=node.get("note"),
    )


def published(path: str) -> PublishedValue:
    """Look up one item by dotted path.

    Parameters
    ----------
    path : str
        Dotted path such as ``"curse.phi"``, ``"crossover.tokens.en"`` or
        ``"curse.multipliers.2"``.

    Returns
    -------
    PublishedValue
        The item at ``path``.

    Raises
    ------
    KeyError
        If a component is missing or the path does not end at a leaf item; the message lists
        the keys available at the level where the lookup failed.
    """
    node: Any = load_published()
    done: list[str] = []
    for part in path.split("."):
        if (
            not isinstance(node, dict)
            or _is_item(node)
            or part not in node
            or (not done and part in _RESERVED)
        ):
            where = ".".join(done) or "<top level>"
            if isinstance(node, dict) and not _is_item(node):
                keys = [k for k in node if done or k not in _RESERVED]
            else:
                keys = []
            raise KeyError(
                f"no published item {path!r}: {part!r} not found under {where}; "
                f"available keys: {', '.join(map(str, keys)) or '(none; already a leaf item)'}"
            )
        node = node[part]
        done.append(part)
    if not _is_item(node):
        raise KeyError(f"{path!r} is a section, not an item; available keys: {', '.join(node)}")
    return _to_value(node)


def published_value(path: str) -> Any:
    """Return just the value of the item at ``path``.

    Parameters
    ----------
    path : str
        Dotted path, as for :func:`published`.

    Returns
    -------
    Any
        ``published(path).value``.
    """
    return published(path).value


def iter_published() -> Iterator[tuple[str, PublishedValue]]:
    """Iterate over every leaf item.

    Yields
    ------
    tuple of (str, PublishedValue)
        Dotted path and item, in file order; ``_about`` and ``sources`` are skipped.
    """

    def walk(node: dict[str, Any], prefix: str) -> Iterator[tuple[str, PublishedValue]]:
        for key, child in node.items():
            dotted = f"{prefix}.{key}" if prefix else key
            if _is_item(child):
                yield dotted, _to_value(child)
            elif isinstance(child, dict):
                yield from walk(child, dotted)

    data = load_published()
    yield from walk({k: v for k, v in data.items() if k not in _RESERVED}, "")
