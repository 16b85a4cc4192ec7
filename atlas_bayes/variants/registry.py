"""Find variants: by name among the shipped ``models/*.toml``, or by path to a TOML file."""

from pathlib import Path

from atlas_bayes.resources import models_path
from atlas_bayes.variants.priors import SpecError
from atlas_bayes.variants.spec import VariantSpec, read_variant_file


def available_variants() -> dict[str, Path]:
    """Names of the shipped variants and their files."""
    return {p.stem: p for p in sorted(models_path().glob("*.toml"))}


def load_variant(name_or_path: str | Path) -> VariantSpec:
    """Load a variant by name (``"atlas"``) or by path (``"my_variant.toml"``).

    Parameters
    ----------
    name_or_path
        A shipped variant's name, or a path to a TOML file (anything ending in ``.toml`` or
        containing a path separator is taken as a path).

    Returns
    -------
    VariantSpec
        The validated spec.

    Raises
    ------
    SpecError
        Unknown name, unreadable file, or an invalid spec (the message names file and key).
    """
    text = str(name_or_path)
    if text.endswith(".toml") or "/" in text or "\\" in text:
        return read_variant_file(Path(text))
    shipped = available_variants()
    if text not in shipped:
        raise SpecError(
            f"unknown model variant {text!r}; shipped variants are {', '.join(shipped)} "
            "(or give a path to a .toml file)"
        )
    return read_variant_file(shipped[text])
