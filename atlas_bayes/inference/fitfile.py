"""Saved fits: one netCDF file (a DataTree), written atomically, read without pickle.

The root attributes carry the variant spec, the provenance and the diagnostics as JSON
strings (netCDF attributes hold only strings and numbers); the ``fit_data`` group carries the
arrays the model was fitted to, so a loaded fit can predict without the study folder.
"""

import json
from pathlib import Path

import xarray as xr

from atlas_bayes.atomic import atomic_file
from atlas_bayes.inference.diagnostics import Diagnostics
from atlas_bayes.inference.fit import FORMAT, FORMAT_VERSION, Fit
from atlas_bayes.variants import SpecError, VariantSpec

REQUIRED_GROUPS = ("posterior", "sample_stats", "log_likelihood", "observed_data", "fit_data")
ENGINE = "h5netcdf"


class FitFileError(ValueError):
    """A file is not a readable fit of this package (or of a compatible version)."""


def save_fit(fit: Fit, path: str | Path, overwrite: bool = False) -> Path:
    """Write ``fit`` to ``path`` atomically.

    Parameters
    ----------
    fit
        The fit.
    path
        Destination ``.nc`` file.
    overwrite
        Replace an existing file.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is false.
    """
    path = Path(path)
    tree = fit.tree.copy()
    data = tree["fit_data"].to_dataset()
    # netCDF has no boolean type: store masks as int8 and restore them on load.
    tree["fit_data"] = data.assign(
        {k: v.astype("int8") for k, v in data.data_vars.items() if v.dtype == bool}
    )
    tree.attrs = {
        "atlas_bayes_format": FORMAT,
        "atlas_bayes_format_version": FORMAT_VERSION,
        "variant_spec": fit.spec.to_json(),
        "meta": json.dumps(fit.meta, sort_keys=True),
        "diagnostics": json.dumps(fit.diagnostics.to_dict(), sort_keys=True),
        "bool_variables": json.dumps([k for k, v in data.data_vars.items() if v.dtype == bool]),
    }
    with atomic_file(path, overwrite=overwrite) as staging:
        tree.to_netcdf(staging, engine=ENGINE)
    return path


def load_fit(path: str | Path) -> Fit:
    """Read a fit written by :func:`save_fit`.

    Raises
    ------
    FitFileError
        If the file is missing or unreadable, is not a fit of this package, lacks a group, or
        was written by a newer, incompatible format version.
    """
    path = Path(path)
    if not path.is_file():
        raise FitFileError(f"{path}: no such file")
    try:
        tree = xr.open_datatree(path, engine=ENGINE).load()
    except (OSError, ValueError) as err:
        raise FitFileError(f"{path}: not a readable netCDF file ({err})") from None
    attrs = tree.attrs
    if attrs.get("atlas_bayes_format") != FORMAT:
        raise FitFileError(
            f"{path}: not a fit of atlas_bayes (no '{FORMAT}' marker); make one with "
            "`atlas-bayes fit STUDY --model NAME --out FIT.nc`"
        )
    made = int(attrs.get("atlas_bayes_format_version", -1))
    if made != FORMAT_VERSION:
        raise FitFileError(
            f"{path}: fit format version {made}, this atlas_bayes reads version "
            f"{FORMAT_VERSION}; refit with this version or install the one that made it"
        )
    missing = [g for g in REQUIRED_GROUPS if g not in tree.children]
    if missing:
        raise FitFileError(f"{path}: incomplete fit, missing group(s) {', '.join(missing)}")
    try:
        spec = VariantSpec.from_json(attrs["variant_spec"], source=f"{path} (variant_spec)")
        meta = json.loads(attrs["meta"])
        diagnostics = Diagnostics.from_dict(json.loads(attrs["diagnostics"]))
        booleans = json.loads(attrs.get("bool_variables", "[]"))
    except (KeyError, json.JSONDecodeError, SpecError, TypeError) as err:
        raise FitFileError(f"{path}: damaged fit metadata ({err})") from None
    data = tree["fit_data"].to_dataset()
    tree["fit_data"] = data.assign({k: data[k].astype(bool) for k in booleans})
    return Fit(tree=tree, spec=spec, diagnostics=diagnostics, meta=meta)
