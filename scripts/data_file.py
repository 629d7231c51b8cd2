"""The command line of a script that writes one of icdsearch's generated data files, or checks it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def write_or_check(path: Path, make: Callable[[], str], description: str, source: str, script: str,
                   rows: Callable[[str], int]) -> int:
    """Parse ``--check``; write ``make()`` to ``path``, or with --check exit 1 when the shipped file is not
    what ``make()`` gives (``source``: what it is made from; ``script``: the script to run)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="compare with the shipped file")
    args = parser.parse_args()
    text = make()
    if args.check:
        if path.read_text(encoding="utf-8") != text:
            print(f"{path} is not what {source} gives: run {script}", file=sys.stderr)
            return 1
        print(f"ok: {path.name} matches {source}")
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path} ({rows(text)} rows)")
    return 0
