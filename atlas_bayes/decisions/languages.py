"""Adding languages under the curse of multilinguality: what keeps the loss unchanged.

Going from ``K`` to ``K'`` languages (sampled uniformly) at equal loss on every language
multiplies the parameters by ``r**(phi/alpha)``, the tokens of each language by
``r**(psi/beta)``, the total tokens by ``r**(1 + psi/beta)`` and the compute by
``r**(1 + phi/alpha + psi/beta)``, with ``r = K'/K``
(:func:`atlas_bayes.laws.iso_loss_multipliers`). The decision is their distribution over the
posterior of a ``curse`` fit, draw by draw.
"""

from typing import Any

from atlas_bayes.decisions.parameters import (
    extrapolation_note,
    fitted_range,
    require_language,
    require_positive,
    require_variant,
)
from atlas_bayes.decisions.result import Decision, DecisionError
from atlas_bayes.findings.curse import MULTIPLIERS, curse_multipliers

#: What each multiplier scales.
MULTIPLIED = {
    "params": "parameters N",
    "tokens_per_language": "tokens of each language D_t",
    "total_tokens": "total tokens K D_t",
    "compute": "compute 6 N K D_t",
}


def _ratio_note(ratio: float, fitted: tuple[float, float]) -> str | None:
    """Flag a ratio K'/K beyond any the fitted runs span (their largest K over smallest K)."""
    span = fitted[1] / fitted[0]
    if 1 / span <= ratio <= span:
        return None
    return (
        f"extrapolation: the ratio K'/K = {ratio:.3g} is beyond the largest the fitted runs "
        f"span ({fitted[0]:g} to {fitted[1]:g} languages, {span:.3g}x); the law's power of K is "
        "assumed to hold there"
    )


def add_languages(
    fit: Any, from_languages: float, to_languages: float, language: str | None = None
) -> Decision:
    """Multipliers that keep the loss unchanged when K languages become K'.

    Parameters
    ----------
    fit
        A fit of the ``curse`` law.
    from_languages, to_languages
        K and K', each >= 1 (uniform sampling over the languages).
    language
        Use this evaluation language's own exponents (``phi``, ``psi``, ``alpha``, ``beta``);
        default the population's (the hierarchical means), which is what ATLAS's single fit
        reports.

    Returns
    -------
    Decision
        ``params``, ``tokens_per_language``, ``total_tokens`` and ``compute``: factors (unit
        ``x``) by which to scale a run on K languages, each ``(chain, draw)``. Because the map
        keeps each term of the law, it also carries a compute-optimal run for K onto the
        compute-optimal run for K'. Notes flag a ratio beyond the fitted span of K, or a K or
        K' more than 10x outside the fitted K.

    Raises
    ------
    DecisionError
        Another law, an unknown language, K < 1 or K' < 1 (or not finite).
    """
    require_variant(fit, ("curse",), "adding languages (the iso-loss multipliers)")
    before = require_positive("from_languages (K)", from_languages)
    after = require_positive("to_languages (K')", to_languages)
    for name, count in (("from_languages (K)", before), ("to_languages (K')", after)):
        if count < 1:
            raise DecisionError(f"{name} must be >= 1 language, got {count:g}")
    if language is not None:
        require_language(fit, language)
    ratio = after / before
    multipliers = curse_multipliers(fit, ratio, by_language=language is not None)
    if language is not None and "language" in multipliers.dims:
        multipliers = multipliers.sel(language=language, drop=True)
    draws = multipliers[list(MULTIPLIERS)].transpose("chain", "draw", ...)
    # The law is fitted on runs with K between the smallest and largest of the design.
    fitted = fitted_range(fit, language).n_languages
    notes = [
        note
        for note in (
            _ratio_note(ratio, fitted),
            extrapolation_note("K and K'", [before, after], fitted, "languages"),
        )
        if note is not None
    ]
    whose = f"{language}'s exponents" if language else "population exponents"
    return Decision(
        question=(
            f"adding languages: from {before:g} to {after:g} languages at equal loss ({whose})"
        ),
        draws=draws,
        units=dict.fromkeys(MULTIPLIERS, "x"),
        inputs={
            "variant": fit.spec.name,
            "from_languages": before,
            "to_languages": after,
            "ratio": ratio,
            "language": language,
            "multiplies": MULTIPLIED,
        },
        notes=tuple(notes),
    )


__all__ = ["add_languages"]
