"""One demo fit in stages (compile, then sample, then assemble), each shown as it runs.

This is :func:`atlas_bayes.inference.fit_variant` with its compile step taken out of the
sampler call, for one reason: a fit of the demo takes minutes, most of them either compiling
the model (Numba) or sampling, and a user watching the terminal should see which. The steps
and their arguments are fit_variant's, so the fit is the same one.
"""

import datetime as dt
import time
from collections.abc import Callable

from atlas_bayes.inference import Fit, SamplerSettings
from atlas_bayes.inference.fit import assemble_fit, sample_variant
from atlas_bayes.inference.sampling import compile_nutpie
from atlas_bayes.modeling.build import build_model
from atlas_bayes.modeling.data import build_model_data
from atlas_bayes.study import Study
from atlas_bayes.variants import VariantSpec

#: Called with the name of each stage as it starts: "compiling", "sampling", "summarising".
StageCallback = Callable[[str], None]


def fit_in_stages(
    study: Study,
    spec: VariantSpec,
    settings: SamplerSettings,
    on_stage: StageCallback | None = None,
) -> tuple[Fit, dict[str, float]]:
    """Fit ``spec`` to ``study`` as :func:`~atlas_bayes.inference.fit_variant` does.

    Parameters
    ----------
    study
        A validated study.
    spec
        The variant.
    settings
        Sampler settings; the sampler must be ``nutpie`` (the only one compiled ahead).
    on_stage
        Told the name of each stage as it starts (for a progress display).

    Returns
    -------
    tuple
        The fit, and the wall seconds of each stage (``compiling``, ``sampling``,
        ``summarising``).

    Raises
    ------
    ValueError
        If ``settings.sampler`` is not ``nutpie``.
    """
    if settings.sampler != "nutpie":
        raise ValueError(f"the demo compiles for nutpie; got sampler {settings.sampler!r}")
    # As fit_variant: unset draws and tuning are the variant's.
    settings = settings.for_variant(spec)
    tell = on_stage or (lambda stage: None)
    seconds: dict[str, float] = {}
    started = dt.datetime.now(dt.UTC)

    tell("compiling")
    clock = time.perf_counter()
    data = build_model_data(study, spec)
    model = build_model(data, spec)
    compiled = compile_nutpie(model, spec.initialization)
    seconds["compiling"] = time.perf_counter() - clock

    tell("sampling")
    clock = time.perf_counter()
    tree = sample_variant(model, spec, settings, compiled=compiled)
    seconds["sampling"] = time.perf_counter() - clock

    # Deterministics, the pointwise log-likelihood and the diagnostics.
    tell("summarising")
    clock = time.perf_counter()
    fit = assemble_fit(tree, model, data, spec, settings, study, started)
    seconds["summarising"] = time.perf_counter() - clock
    return fit, seconds


__all__ = ["StageCallback", "fit_in_stages"]
