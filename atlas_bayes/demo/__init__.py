"""The main job on the bundled simulated study: ``atlas-bayes demo`` (see :func:`run_demo`).

One module per idea: :mod:`~atlas_bayes.demo.plan` (what is fitted, how, and the interval),
:mod:`~atlas_bayes.demo.study_check` (validation and the seed check),
:mod:`~atlas_bayes.demo.fitting` (a fit in visible stages), :mod:`~atlas_bayes.demo.headline`
(the recommendations), :mod:`~atlas_bayes.demo.truth` (the simulation's true answers),
:mod:`~atlas_bayes.demo.outputs` (files and the printed table) and
:mod:`~atlas_bayes.demo.run` (the job itself).
"""

from atlas_bayes.demo.plan import DEMO_CI_KIND, DEMO_CI_PROB, FULL_PLAN, QUICK_PLAN, demo_plan
from atlas_bayes.demo.run import run_demo

__all__ = ["DEMO_CI_KIND", "DEMO_CI_PROB", "FULL_PLAN", "QUICK_PLAN", "demo_plan", "run_demo"]
