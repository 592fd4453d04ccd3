"""Entry point of ``python -m geo``; see :mod:`geo.cli`."""

from __future__ import annotations

import sys

from geo.cli import main

if __name__ == "__main__":
    sys.exit(main())
