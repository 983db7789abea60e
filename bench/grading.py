#!/usr/bin/env python
"""Grading-quality benchmark of the semantic grader: `.venv/bin/python bench/grading.py --help`,
docs/grading.md.

The code is in bench/gradingbench/ (one module per part: the zero-shot and few-shot runs, the
metrics, the speed probe, the report and the plots); this file is its command line.
"""

from gradingbench.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
