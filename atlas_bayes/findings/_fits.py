"""Checks shared by the findings: is this fit of the right law."""

from typing import Any


class WrongVariant(ValueError):
    """The fit's variant cannot answer this question (another law)."""


def require_law(fit: Any, laws: tuple[str, ...], question: str) -> None:
    """Raise :class:`WrongVariant` unless ``fit``'s law is one of ``laws``."""
    if fit.spec.law not in laws:
        raise WrongVariant(
            f"{question} needs a fit of a variant with law {' or '.join(laws)}; "
            f"{fit.spec.name!r} uses the {fit.spec.law} law"
        )
