"""Atomic outputs: a folder or file appears complete, or not at all."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_folder(out: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Build a folder under a temporary name beside ``out``; rename it into place on success.

    Parameters
    ----------
    out
        Destination folder.
    overwrite
        Replace an existing ``out`` (only once the new one is complete).

    Yields
    ------
    pathlib.Path
        The staging folder to write into.

    Raises
    ------
    FileExistsError
        If ``out`` exists and ``overwrite`` is false (checked before any work is done).
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass --force (overwrite=True) to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    # mkdtemp makes the folder private (0700); outputs get the usual permissions.
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)
    try:
        yield staging
        if out.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, retired / out.name)
            os.replace(staging, out)
            shutil.rmtree(retired)
        else:
            os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


@contextmanager
def atomic_file(out: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Write a file under a temporary name beside ``out``; rename it into place on success.

    Raises
    ------
    FileExistsError
        If ``out`` exists and ``overwrite`` is false.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass --force (overwrite=True) to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(handle)
    staging = Path(name)
    try:
        yield staging
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o666 & ~umask)
        os.replace(staging, out)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
