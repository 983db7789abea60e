"""`python -m tools.reference_server`: see the package's docstring."""

from .cli import main

if __name__ == "__main__":
    main()
