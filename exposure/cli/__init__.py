"""The ``exposure`` command line: the one place that wires readers, engine and maps together.

Each command lives in its own module of this package and registers itself on :data:`app`.
"""

from __future__ import annotations

import sys

# Importing a command module registers its command on `app`.
from exposure.cli import (  # noqa: F401
    assess,
    demo,
    ingest,
    leaks,
    map,
    nofly,
    patterns,
    report,
    sites,
)
from exposure.cli.common import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app(prog_name="exposure")


if __name__ == "__main__":
    sys.exit(main())
