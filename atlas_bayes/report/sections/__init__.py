"""The numbers of each report section, computed from fits: plain dicts and DataFrames.

Nothing here formats or draws; :mod:`atlas_bayes.report.compose` turns these into text,
tables and figures. Every posterior quantity comes with the interval asked for (``ci_prob``,
``ci_kind``, passed explicitly); predictive intervals are equal-tailed. One module per
section, plus :mod:`~atlas_bayes.report.sections.common` for what they share.
"""

from atlas_bayes.report.sections.common import (
    MAX_PREDICTIVE_DRAWS,
    draws_used,
    fit_labels,
    monolingual_points,
    observation_frame,
    thinned,
)
from atlas_bayes.report.sections.decisions import (
    crossover_data,
    curse_data,
    frontier_data,
    frontier_fit,
)
from atlas_bayes.report.sections.fitted import (
    data_overview,
    fitted_data,
    prior_rows,
    variant_overview,
)
from atlas_bayes.report.sections.narrowing import (
    RUN_ADVICE,
    parameter_ranking,
    relative_widths,
    widest_pairs,
)
from atlas_bayes.report.sections.scaling import (
    EXTRAPOLATION_MULTIPLES,
    FAN_TOKENS_PER_PARAM,
    pick_languages,
    scaling_data,
)
from atlas_bayes.report.sections.transfer import (
    PAPER_TOP,
    asymmetry_correlation,
    bilingual_pairs,
    script_bts,
    top_source_counts,
    transfer_data,
)
from atlas_bayes.report.sections.trust import (
    diagnostics_table,
    loo_comparisons,
    predictive_check,
)

__all__ = [
    "EXTRAPOLATION_MULTIPLES",
    "FAN_TOKENS_PER_PARAM",
    "MAX_PREDICTIVE_DRAWS",
    "PAPER_TOP",
    "RUN_ADVICE",
    "asymmetry_correlation",
    "bilingual_pairs",
    "crossover_data",
    "curse_data",
    "data_overview",
    "diagnostics_table",
    "draws_used",
    "fit_labels",
    "fitted_data",
    "frontier_data",
    "frontier_fit",
    "loo_comparisons",
    "monolingual_points",
    "observation_frame",
    "parameter_ranking",
    "pick_languages",
    "predictive_check",
    "prior_rows",
    "relative_widths",
    "scaling_data",
    "script_bts",
    "thinned",
    "top_source_counts",
    "transfer_data",
    "variant_overview",
    "widest_pairs",
]
