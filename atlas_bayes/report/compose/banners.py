"""The warnings above every section: failed convergence gates, fits of another study."""

from collections.abc import Mapping

import pandas as pd

from atlas_bayes.report.document import (
    Banner,
)


def banners(diagnostics: pd.DataFrame, study_matches: Mapping[str, bool]) -> list[Banner]:
    """Warnings for the top of the report: failed convergence gates, a study mismatch.

    Parameters
    ----------
    diagnostics
        :func:`~atlas_bayes.report.sections.diagnostics_table`.
    study_matches
        Fit label to whether the fit records the given study's content hash.

    Returns
    -------
    list of Banner
    """
    out = []
    for _, row in diagnostics[~diagnostics["passed"]].iterrows():
        out.append(
            Banner(
                title=f"Fit {row['fit']} failed the convergence gate: do not trust its numbers yet",
                items=tuple(row["problems"]),
            )
        )
    wrong = [label for label, ok in study_matches.items() if not ok]
    if wrong:
        out.append(
            Banner(
                title="Fits of another study",
                items=tuple(
                    f"{label} records a different study hash than the study given to the report: "
                    "its data are not that study's."
                    for label in wrong
                ),
            )
        )
    return out


__all__ = [
    "banners",
]
