"""Model variants as data: TOML specs in ``models/``, loaded by name or path and validated."""

from atlas_bayes.variants.priors import PriorSpec, SpecError
from atlas_bayes.variants.registry import available_variants, load_variant
from atlas_bayes.variants.spec import LAW_PARAMETERS, ParameterSpec, VariantSpec

__all__ = [
    "LAW_PARAMETERS",
    "ParameterSpec",
    "PriorSpec",
    "SpecError",
    "VariantSpec",
    "available_variants",
    "load_variant",
]
