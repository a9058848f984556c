#!/usr/bin/env python
"""WiFi DensePose Studio: the desktop app, or a headless subcommand (see --help)."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
