"""Refits without recompiling: compile a variant once, then swap in new data and sample again.

Cross-validation folds, bootstrap-like sweeps and simulation studies fit the same variant to
many datasets with the same languages; compiling the model (Numba) is a large share of a cold
fit, so it is done once and the data containers are swapped (``nutpie``'s ``with_data`` and
``pm.set_data`` for the log-likelihood afterwards).
"""

import datetime as dt

import numpy as np
import pymc as pm
import xarray as xr

from atlas_bayes.inference.fit import Fit, assemble_fit, sample_variant
from atlas_bayes.inference.sampling import SamplerSettings, compile_nutpie
from atlas_bayes.modeling.build import build_model, data_coords, fit_data_arrays
from atlas_bayes.modeling.data import ModelDataError, build_model_data
from atlas_bayes.study import Study
from atlas_bayes.variants import VariantSpec


class CompiledVariant:
    """A variant compiled once for a language set; fit it to any data on those languages.

    Parameters
    ----------
    template
        Fit data (or a study) that fixes the languages, sources and top-source slots.
    spec
        The variant.
    """

    def __init__(self, template: xr.Dataset | Study, spec: VariantSpec):
        if isinstance(template, Study):
            template = build_model_data(template, spec)
        self.spec = spec
        self.template = template
        self.model = build_model(template, spec)
        self.compiled = compile_nutpie(self.model, spec.initialization)
        self._shared = {var.name for var in self.compiled.shared_var_keys}

    def _check_axes(self, data: xr.Dataset) -> None:
        for axis in ("language", "source", "slot"):
            if not np.array_equal(data[axis].values, self.template[axis].values):
                raise ModelDataError(
                    f"refit data has {axis}s {list(data[axis].values)}, the compiled variant "
                    f"{list(self.template[axis].values)}; compile a new CompiledVariant"
                )
        if not np.array_equal(data["top_source"].values, self.template["top_source"].values):
            raise ModelDataError("refit data has other top sources than the compiled variant")

    def fit(
        self,
        data: xr.Dataset | Study,
        settings: SamplerSettings | None = None,
        study: Study | None = None,
    ) -> Fit:
        """Sample the posterior given new data, reusing the compiled model.

        Parameters
        ----------
        data
            Fit data with the template's languages, sources and top sources (or a study to
            build it from; its top sources must match).
        settings
            Sampler settings (nutpie only).
        study
            The study the data came from, for provenance.

        Returns
        -------
        Fit
        """
        settings = (settings or SamplerSettings()).for_variant(self.spec)
        if settings.sampler != "nutpie":
            raise ValueError("refits reuse a nutpie compilation; use sampler='nutpie'")
        if isinstance(data, Study):
            study = data
            data = build_model_data(data, self.spec)
        self._check_axes(data)
        arrays = fit_data_arrays(data)
        compiled = self.compiled.with_data(
            **{name: value for name, value in arrays.items() if name in self._shared}
        )
        started = dt.datetime.now(dt.UTC)
        tree = sample_variant(self.model, self.spec, settings, compiled=compiled)
        with self.model:
            pm.set_data(arrays, coords=data_coords(arrays, data))
        try:
            return assemble_fit(tree, self.model, data, self.spec, settings, study, started)
        finally:
            with self.model:
                template_arrays = fit_data_arrays(self.template)
                pm.set_data(template_arrays, coords=data_coords(template_arrays, self.template))
