"""Section data into report sections: sentences, formatted tables and figures.

Each ``*_section`` function takes the numbers of :mod:`atlas_bayes.report.sections` and
returns a :class:`~atlas_bayes.report.document.Section` (or None when no fit fills it).
Every posterior number is written as ``mean [low, high]`` under a header that names the
interval (:func:`atlas_bayes.intervals.interval_label`); every recommendation carries one
sentence saying what it means.
"""

from atlas_bayes.report.compose.banners import banners
from atlas_bayes.report.compose.fitted import fitted_section
from atlas_bayes.report.compose.narrowing import narrowing_section
from atlas_bayes.report.compose.recommendations import recommendations_section
from atlas_bayes.report.compose.scaling import scaling_section
from atlas_bayes.report.compose.transfer import transfer_section
from atlas_bayes.report.compose.trust import trust_section

__all__ = [
    "banners",
    "fitted_section",
    "narrowing_section",
    "recommendations_section",
    "scaling_section",
    "transfer_section",
    "trust_section",
]
