"""Run the engine's chunks on a Dask cluster (``distributed``).

The engine is a map over chunks of whole flights followed by a merge (:mod:`exposure.kernel`), so
scaling out only changes who runs the map: the site context is sent to every worker once, each
chunk is one task, and the partial results come back in order to be merged exactly as in process.
Workers should be processes, not threads: shapely calls hold the GIL for part of their time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from exposure.errors import ExposureError
from exposure.kernel import Chunk, EngineParams, Partial, SiteContext, assess_chunk

__all__ = ["cluster_client", "dask_runner"]


def dask_runner(client):
    """Return a chunk runner for :func:`exposure.engine.assess` that uses ``client``.

    Parameters
    ----------
    client : distributed.Client
        A connected client (a local cluster or a remote scheduler).

    Returns
    -------
    callable
        ``runner(chunks, ctx, params) -> list of Partial``, in the order of ``chunks``.
    """

    def run(chunks: Sequence[Chunk], ctx: SiteContext, params: EngineParams) -> list[Partial]:
        if not chunks:
            return []
        [ctx_future] = client.scatter([ctx], broadcast=True, hash=False)
        # Chunks go straight to the workers rather than inside the task graph.
        on_workers = client.scatter(list(chunks), hash=False)
        futures = client.map(assess_chunk, on_workers, sites=ctx_future, params=params, pure=False)
        return client.gather(futures)

    return run


@contextmanager
def cluster_client(scheduler: str | None = None, *, n_workers: int = 2) -> Iterator[object]:
    """Connect to ``scheduler`` (e.g. ``tcp://host:8786``) or start a local process cluster.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running Dask scheduler; a ``LocalCluster`` of worker processes otherwise.
    n_workers : int
        Workers of the local cluster (one thread each).

    Yields
    ------
    distributed.Client

    Raises
    ------
    ExposureError
        If the scheduler cannot be reached.
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ExposureError(f"cannot reach the Dask scheduler {scheduler!r}: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    # ":0": any free port for the scheduler's HTTP endpoints, so a second cluster on the machine
    # (or another program on Dask's default port 8787) does not stop this one from starting.
    cluster = LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
