"""The one place that says which credible intervals the package reports.

Every interval a user sees states its probability and kind; these are the defaults, passed to
ArviZ explicitly (never its global ``ci_prob``/``ci_kind``).
"""

#: Probability of the default credible interval.
CI_PROB = 0.9
#: Kind of the default credible interval: ``"eti"`` (equal-tailed) or ``"hdi"``.
CI_KIND = "eti"
#: Predictive intervals reported for predictions.
PREDICTIVE_PROBS = (0.5, 0.9)


def interval_label(prob: float = CI_PROB, kind: str = CI_KIND) -> str:
    """Words for an interval: ``"90% equal-tailed credible interval"``."""
    words = {"eti": "equal-tailed", "hdi": "highest-density"}[kind]
    return f"{prob:.0%} {words} credible interval"
