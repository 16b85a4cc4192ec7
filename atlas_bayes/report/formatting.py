"""Numbers as a reader sees them: three significant digits, token counts in B, intervals."""

import math

#: Units written with a magnitude suffix (144B tokens) rather than in scientific notation.
SUFFIXED_UNITS = ("tokens", "parameters")
_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))


def _finite(value: float | None) -> bool:
    return value is not None and isinstance(value, int | float) and math.isfinite(value)


def number(value: float | None, unit: str = "") -> str:
    """One number with three significant digits.

    Parameters
    ----------
    value
        The number (NaN or None gives ``"n/a"``).
    unit
        ``"tokens"`` or ``"parameters"`` get a magnitude suffix (``"144B"``); ``"FLOPs"``
        scientific notation (``"1.2e+21"``); anything else ``%.3g``.

    Returns
    -------
    str
    """
    if not _finite(value):
        return "n/a"
    value = float(value)
    if unit in SUFFIXED_UNITS:
        rounded = float(f"{value:.3g}")  # 999.6B rounds to 1T, not "1e+03B"
        if abs(rounded) >= 1e15:
            return f"{value:.3g}"
        for scale, suffix in _SUFFIXES:
            if abs(rounded) >= scale:
                return f"{rounded / scale:.3g}{suffix}"
        return f"{value:.3g}"
    if unit == "FLOPs":
        return f"{value:.2e}"
    return f"{value:.3g}"


def interval(mean: float, low: float, high: float, unit: str = "") -> str:
    """``"mean [low, high]"``, each with :func:`number`; ``"undefined"`` without draws."""
    if not _finite(mean):
        return "undefined (no draws)"
    return f"{number(mean, unit)} [{number(low, unit)}, {number(high, unit)}]"


def share(value: float | None) -> str:
    """A probability or share as a percentage (``"93%"``, ``"99.7%"``, ``">99.9%"``)."""
    if not _finite(value):
        return "n/a"
    value = float(value)
    if 0 < value < 0.001:
        return "<0.1%"
    if 0.999 < value < 1:
        return ">99.9%"
    if value in (0.0, 1.0):
        return f"{value:.0%}"
    if 0.99 <= value or value <= 0.01:
        return f"{value:.1%}"
    return f"{value:.0%}"


def short_hash(digest: str, length: int = 16) -> str:
    """The first ``length`` characters of a content hash (``"(none recorded)"`` if empty)."""
    return digest[:length] if digest else "(none recorded)"


__all__ = ["SUFFIXED_UNITS", "interval", "number", "share", "short_hash"]
