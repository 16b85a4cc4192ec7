"""Dask clusters for cross-validation: a local one over this machine's cores, or a remote one.

Each fold is one Dask task. Workers are processes with one thread each: a fold's NUTS chains
then run one after another inside its worker (nutpie with one core), and the folds run side by
side, one per core, which keeps every core busy without oversubscribing them.
"""

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from distributed import Client, LocalCluster


def default_workers() -> int:
    """Workers of a local cluster by default: one per CPU core available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def local_client(n_workers: int | None = None) -> Iterator[Client]:
    """A ``dask.distributed.LocalCluster`` of single-threaded worker processes, and its client.

    Parameters
    ----------
    n_workers
        Worker processes (default: :func:`default_workers`).

    Yields
    ------
    distributed.Client
        Closed, with its cluster, on exit.
    """
    n_workers = n_workers or default_workers()
    # No dashboard: a fixed port would collide with other users' clusters on shared machines.
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # Closing workers whose sampler threads linger logs a harmless "killing" warning.
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@contextmanager
def connect(address: str) -> Iterator[Client]:
    """A client of the running Dask scheduler at ``address`` (``tcp://host:8786``).

    Yields
    ------
    distributed.Client
        Closed on exit; the cluster keeps running.
    """
    with Client(address) as client:
        yield client


__all__ = ["connect", "default_workers", "local_client"]
