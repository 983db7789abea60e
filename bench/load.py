#!/usr/bin/env python
"""Load benchmark of the candidate socket: `.venv/bin/python bench/load.py --help`, bench/README.md.

The code is in bench/loadbench/ (one module per part: the scenarios, the clients, the processes,
the report and the plots); this file is its command line.
"""

from loadbench.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
