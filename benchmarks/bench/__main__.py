"""`python -m benchmarks.bench`: see benchmarks/bench/__init__.py."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
