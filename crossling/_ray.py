"""Ray sessions for the suite's ``--backend ray`` (extraction, probe grids).

The same rule as :func:`transfer.execution.backends.run_ray`: a Ray already initialised
in this process is used as it is (and left running); otherwise
``ray.init(address=ray_address)`` connects to a running cluster (``"auto"``,
``"ray://host:10001"``, ``"host:6379"``), and without an address a local Ray
with ``workers`` CPUs is started and shut down when the work is done. Workers
read and write the output directory themselves, so it must be on a
filesystem every worker sees (automatic on one machine).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from crossling.errors import ConfigError

__all__ = ["BACKEND_CHOICES", "check_backend", "ray_session"]

#: Backends of ``probes.extract`` and ``probes.train``: this process, or tasks on Ray.
BACKEND_CHOICES = ("local", "ray")


def check_backend(backend: str, workers: int) -> None:
    """Raise :class:`ConfigError` naming the parameter for a bad ``backend`` or ``workers``."""
    if backend not in BACKEND_CHOICES:
        raise ConfigError(f"The 'backend' parameter must be one of {list(BACKEND_CHOICES)}, got {backend!r}.")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"The 'workers' parameter must be an integer >= 1, got {workers!r}.")


@contextmanager
def ray_session(workers: int, ray_address: str | None) -> Iterator[Any]:
    """The ``ray`` module, initialised (see the module docstring); shuts down only a Ray it started."""
    try:
        import ray
    except ImportError:
        raise ConfigError("backend 'ray' needs the ray package: pip install 'crossling[ray]'.") from None
    started = False
    if not ray.is_initialized():
        if ray_address:
            ray.init(address=ray_address, ignore_reinit_error=True, log_to_driver=False)
        else:
            ray.init(num_cpus=max(1, workers), include_dashboard=False, ignore_reinit_error=True,
                     log_to_driver=False)
        started = True
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()
