"""What the demo fits, with which sampler settings, and which interval it reports.

The settings are chosen so that ``atlas-bayes demo`` finishes in under 10 minutes (6.7 measured
from a fresh clone, after a 1.3-minute install) and ``atlas-bayes demo --quick`` in under 3 on an
idle 2-core machine (see docs/report.md for
the measurements; another process on the same cores slows both down about 1.6 times). The
chains are shorter than the draws each variant asks for in ``atlas-bayes fit``, so a fit may fail
its convergence gate (too few effective draws); the report then says so above every number,
and ``--strict`` exits with code 3.
"""

from dataclasses import dataclass

from atlas_bayes.inference import SamplerSettings
from atlas_bayes.resources import BUNDLED_STUDY_SEED

#: The demo's credible interval, for every number it prints or writes.
DEMO_CI_PROB = 0.9
DEMO_CI_KIND = "eti"


@dataclass(frozen=True)
class DemoFit:
    """One variant the demo fits, and how.

    Attributes
    ----------
    variant : str
        Name of a shipped variant (``models/<variant>.toml``).
    settings : SamplerSettings
        Sampler settings (seed: the bundled study's).
    """

    variant: str
    settings: SamplerSettings

    def describe(self) -> str:
        """``"curse: 4 chains x 500 draws after 400 tuning (nutpie, seed 11)"``."""
        s = self.settings
        return (
            f"{self.variant}: {s.chains} chains x {s.draws} draws after {s.tune} tuning "
            f"({s.sampler}, seed {s.seed})"
        )


def _settings(
    chains: int, draws: int, tune: int, target_accept: float | None = None
) -> SamplerSettings:
    return SamplerSettings(
        chains=chains, draws=draws, tune=tune, seed=BUNDLED_STUDY_SEED, target_accept=target_accept
    )


#: Full mode: the three variants behind the headline recommendations. Per iteration of 4
#: chains on 2 idle cores, crossover costs about 0.35 s, atlas_matrix 0.15 s and curse 0.04 s
#: (plus 20-30 s of compiling each; measured 2026-11-30), so crossover and atlas_matrix get
#: the fewest draws: 6.6 minutes in all with the report (394 s measured on an idle machine).
#: atlas_matrix and crossover keep the step-size targets these times were measured with (0.8
#: and 0.9): their variants' smaller steps (0.9, 0.95) are for full-length fits and cost up to
#: 4x the gradient evaluations per draw.
FULL_PLAN = (
    DemoFit("curse", _settings(4, 300, 300)),
    DemoFit("atlas_matrix", _settings(4, 250, 250, target_accept=0.8)),
    DemoFit("crossover", _settings(4, 250, 250, target_accept=0.9)),
)
#: Quick mode: no crossover fit (it alone would take the whole budget), and two chains each:
#: on 2 cores four chains take twice as long as two, and a first look needs the numbers, not
#: the between-chain check (its R-hat is still computed, from two chains). Measured on an idle
#: machine (2026-11-30): 4 chains x 100 draws after 125 tuning took 186 s in all, over budget.
QUICK_PLAN = (
    DemoFit("curse", _settings(2, 300, 300)),
    DemoFit("atlas_matrix", _settings(2, 150, 150, target_accept=0.8)),
)


def report_intro(plan: tuple[DemoFit, ...]) -> str:
    """The report's opening words for the demo: what the study is, how the fits were run."""
    settings = "; ".join(
        f"{item.variant} {item.settings.chains} chains x {item.settings.draws} draws after "
        f"{item.settings.tune} tuning"
        for item in plan
    )
    return (
        f"Made by atlas-bayes demo from the bundled simulated study (seed {BUNDLED_STUDY_SEED}): "
        "simulated, not real data, so every answer has a known true value (summary.md sets "
        "them beside the estimates). To finish in minutes the demo samples short chains "
        f"(nutpie: {settings}), far shorter than the draws each variant asks "
        "for in atlas-bayes fit. A fit that fails its convergence gate below shows what that "
        "warning looks like, and its numbers are illustrations: refit the variant with "
        "atlas-bayes fit for numbers to act on."
    )


def demo_plan(quick: bool) -> tuple[DemoFit, ...]:
    """The fits of the demo: :data:`QUICK_PLAN` if ``quick``, else :data:`FULL_PLAN`."""
    return QUICK_PLAN if quick else FULL_PLAN


__all__ = [
    "DEMO_CI_KIND",
    "DEMO_CI_PROB",
    "FULL_PLAN",
    "QUICK_PLAN",
    "DemoFit",
    "demo_plan",
    "report_intro",
]
