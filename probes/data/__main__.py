"""``python -m probes.data``: download data sets or list a data directory (see :mod:`probes.datasets`)."""

from crossling.cli import run_main
from probes.datasets import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(run_main(main))
