"""Exit codes of ``atlas-bayes``, shared by the CLI and the demo.

0 success; 1 an internal failure (a bug: the demo's study no longer re-simulates from its
seed); 2 bad input (nothing is written); 3 a fit failed its convergence gate under
``--strict`` (outputs are written, so that the failure can be inspected).
"""

from collections.abc import Iterable

from atlas_bayes.inference import Fit

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_NOT_CONVERGED = 3


def strict_exit_code(fits: Iterable[Fit], strict: bool) -> int:
    """:data:`EXIT_NOT_CONVERGED` if ``strict`` and some fit failed its gate, else 0."""
    if strict and any(not fit.diagnostics.passed for fit in fits):
        return EXIT_NOT_CONVERGED
    return EXIT_OK


__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "EXIT_NOT_CONVERGED",
    "EXIT_OK",
    "strict_exit_code",
]
