"""The simulated ATLAS study: a design, a ground truth and losses generated from it."""

from atlas_bayes.simulate.generate import Simulation, simulate_atlas_study

__all__ = ["Simulation", "simulate_atlas_study"]
