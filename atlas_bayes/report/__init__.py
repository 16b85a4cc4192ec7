"""The uncertainty report: what was fitted, whether to trust it, and what it says, with intervals.

:func:`build_report` writes one self-contained HTML file (and optionally Markdown) from a list
of fits. The modules each do one thing: :mod:`~atlas_bayes.report.sections` computes the
numbers, :mod:`~atlas_bayes.report.figures` draws them, :mod:`~atlas_bayes.report.compose`
writes sentences and tables, :mod:`~atlas_bayes.report.render` renders HTML and Markdown, and
:mod:`~atlas_bayes.report.build` runs them and writes the files atomically.
"""

from atlas_bayes.report.build import ReportPaths, build_report, report_document
from atlas_bayes.report.document import Document

__all__ = ["Document", "ReportPaths", "build_report", "report_document"]
