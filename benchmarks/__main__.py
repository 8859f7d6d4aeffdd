"""Run every benchmark module: `python -m benchmarks [ARGS]` calls `main(argv)` of each `benchmarks/*.py`.

Modules are discovered, not listed, so that new benchmarks only need a `main(argv) -> int`.
`python -m benchmarks routing --sets A` runs one module with its own arguments.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def modules() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_") and not m.ispkg)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    names = modules()
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        print("benchmarks:", ", ".join(names))
        return 0
    if argv and argv[0] in names:
        names, argv = [argv[0]], argv[1:]
    status = 0
    for name in names:
        mod = importlib.import_module(f"benchmarks.{name}")
        run = getattr(mod, "main", None)
        if not callable(run):
            continue
        print(f"=== benchmarks.{name} ===", flush=True)
        status = max(status, int(run(argv if len(names) == 1 else []) or 0))
    return status


if __name__ == "__main__":
    sys.exit(main())
