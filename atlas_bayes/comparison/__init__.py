"""Model comparison of fitted variants: PSIS-LOO, stacking weights, Pareto k in words."""

from atlas_bayes.comparison.loo import (
    Comparison,
    ComparisonError,
    check_comparable,
    compare_fits,
    observation_key,
)

__all__ = [
    "Comparison",
    "ComparisonError",
    "check_comparable",
    "compare_fits",
    "observation_key",
]
