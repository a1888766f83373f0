"""``python -m transfer`` is ``python -m transfer.run``."""

from crossling.cli import run_main
from transfer.run import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
