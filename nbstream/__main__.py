"""``python -m nbstream [prompt]``: one turn in the terminal; ``--help`` for the options (nbstream._terminal)."""

from __future__ import annotations

import sys

from ._terminal import main

if __name__ == "__main__":
    sys.exit(main())
