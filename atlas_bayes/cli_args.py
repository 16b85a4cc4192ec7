"""Argument types and options shared by the subcommands of ``atlas-bayes``.

A value argparse rejects is a usage error: exit code 2 with the reason, before any work.
"""

import argparse

from atlas_bayes.intervals import CI_KIND, CI_PROB


def probability(text: str) -> float:
    """An interval probability strictly between 0 and 1 (``--ci-prob``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, got {text}")
    return value


def add_interval_options(parser: argparse.ArgumentParser) -> None:
    """``--ci-prob`` and ``--ci-kind``: the credible interval every number is reported with."""
    parser.add_argument(
        "--ci-prob",
        type=probability,
        default=CI_PROB,
        help=f"credible interval probability (default {CI_PROB})",
    )
    parser.add_argument(
        "--ci-kind",
        choices=("eti", "hdi"),
        default=CI_KIND,
        help=f"credible interval kind: equal-tailed or highest-density (default {CI_KIND})",
    )


def add_strict_option(parser: argparse.ArgumentParser, what: str = "a fit") -> None:
    """``--strict``: exit with code 3 when a fit failed its convergence gate."""
    parser.add_argument(
        "--strict",
        action="store_true",
        help=f"exit with code 3 if {what} failed its convergence gate (output still written)",
    )


__all__ = ["add_interval_options", "add_strict_option", "probability"]
