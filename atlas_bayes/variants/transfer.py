"""The ``[transfer]`` section of an ``atlas_matrix`` variant: the prior of the transfer matrix.

``tau[t, s] = intercept + sum_f coefficient_f * feature_f[t, s] + source_effect[s]
+ residual[t, s]`` for every target ``t`` and named source ``s != t``; the pooled "other"
source (many languages at once) has its own population, ``tau[t, other] ~ Normal(pooled_mean,
pooled_scale)``. The feature mean lets pairs
without runs borrow from pairs with runs that look alike (same script, same family, data
size); the source effect captures languages that help or hurt every target (the paper's Urdu
and Pashto); the residual is heavy-tailed (Student-t), so most pairs shrink to the feature
mean and the few with strong evidence escape it.
"""

from dataclasses import dataclass
from typing import Any

from atlas_bayes.variants.priors import PriorSpec, SpecError

#: Pair features the feature mean can use, and what each is.
PAIR_FEATURES: dict[str, str] = {
    "same_script": "1 if target and source are written in the same script",
    "same_family": "1 if target and source belong to the same language family",
    "source_log_unique": "log unique tokens of the source, standardised over sources",
    "target_log_unique": "log unique tokens of the target, standardised over targets",
}

#: The pooled source of multilingual mixtures (its script and family are unknown).
OTHER_SOURCE = "other"


@dataclass(frozen=True)
class TransferSpec:
    """Prior of the transfer matrix (see the module docstring).

    Attributes
    ----------
    features : tuple of str
        Names from :data:`PAIR_FEATURES` used by the feature mean.
    intercept, coefficient : PriorSpec
        Priors of the feature mean's intercept and of each feature's coefficient.
    source_scale : PriorSpec
        Prior of the spread of the per-source effects (positive).
    residual_scale : PriorSpec
        Prior of the scale of the per-pair residuals (positive).
    residual_nu : float
        Degrees of freedom of the Student-t residuals (small: heavy tails, sparse).
    pooled_mean, pooled_scale : PriorSpec
        Priors of the mean and (positive) spread over targets of the transfer from the pooled
        "other" source.
    """

    features: tuple[str, ...]
    intercept: PriorSpec
    coefficient: PriorSpec
    source_scale: PriorSpec
    residual_scale: PriorSpec
    residual_nu: float
    pooled_mean: PriorSpec
    pooled_scale: PriorSpec

    @classmethod
    def parse(cls, raw: Any, where: str = "transfer") -> "TransferSpec":
        """Parse and check the ``[transfer]`` table."""
        if not isinstance(raw, dict):
            raise SpecError(f"{where}: expected a table [transfer]")
        keys = {
            "features", "intercept", "coefficient", "source_scale", "residual_scale",
            "residual_nu", "pooled_mean", "pooled_scale",
        }  # fmt: skip
        unknown = sorted(set(raw) - keys)
        if unknown:
            raise SpecError(f"{where}: unknown key(s) {', '.join(unknown)}")
        missing = sorted(keys - set(raw))
        if missing:
            raise SpecError(f"{where}: needs {', '.join(missing)}")
        features = raw["features"]
        if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
            raise SpecError(f"{where}.features: expected a list of feature names")
        bad = [f for f in features if f not in PAIR_FEATURES]
        if bad:
            raise SpecError(
                f"{where}.features: unknown feature(s) {', '.join(bad)}; choose from "
                f"{', '.join(PAIR_FEATURES)}"
            )
        if len(set(features)) != len(features):
            raise SpecError(f"{where}.features: a feature is listed twice")
        priors = {
            k: PriorSpec.parse(raw[k], f"{where}.{k}") for k in keys - {"features", "residual_nu"}
        }
        for key in ("source_scale", "residual_scale", "pooled_scale"):
            if priors[key].support != "positive":
                raise SpecError(
                    f"{where}.{key}: a scale needs a positive prior, got {priors[key].dist}"
                )
        nu = raw["residual_nu"]
        if isinstance(nu, bool) or not isinstance(nu, int | float) or not nu > 0:
            raise SpecError(f"{where}.residual_nu: expected a number > 0, got {nu!r}")
        return cls(tuple(features), residual_nu=float(nu), **priors)

    def to_dict(self) -> dict[str, Any]:
        """The TOML/JSON form."""
        return {
            "features": list(self.features),
            "intercept": self.intercept.to_dict(),
            "coefficient": self.coefficient.to_dict(),
            "source_scale": self.source_scale.to_dict(),
            "residual_scale": self.residual_scale.to_dict(),
            "residual_nu": self.residual_nu,
            "pooled_mean": self.pooled_mean.to_dict(),
            "pooled_scale": self.pooled_scale.to_dict(),
        }
