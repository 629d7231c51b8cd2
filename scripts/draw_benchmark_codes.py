"""Draw the 100 benchmark codes the way arXiv 2401.01943 did: 50 three-character categories and 50
six-character codes (six characters without the dot), uniformly from the full FY2026 code set.

    python scripts/draw_benchmark_codes.py            # prints code,description CSV rows
    python scripts/draw_benchmark_codes.py --check    # exits 1 if data/ does not hold this draw

The seed is recorded here and in the datasheet; the draw is reproducible with the pinned code set.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys

from icdsearch.codeset import default_code_set
from icdsearch.evaluate import BENCHMARK_PATH, load_dataset

SEED = 20260401
PER_GROUP = 50


def draw() -> list[tuple[str, str]]:
    codes = default_code_set()
    three = sorted(c.code for c in codes if len(c.code) == 3)
    six = sorted(c.code for c in codes if len(c.code.replace(".", "")) == 6)
    rng = random.Random(SEED)
    chosen = rng.sample(three, PER_GROUP) + rng.sample(six, PER_GROUP)
    return [(code, codes.get(code).description) for code in chosen]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped benchmark")
    args = parser.parse_args()
    rows = draw()
    if args.check:
        shipped = sorted({q.code for q in load_dataset(BENCHMARK_PATH).queries})
        if shipped != sorted(code for code, _ in rows):
            print("the shipped benchmark's codes differ from this draw", file=sys.stderr)
            return 1
        print(f"ok: {len(rows)} codes match seed {SEED}")
        return 0
    writer = csv.writer(sys.stdout)
    writer.writerow(["code", "description"])
    writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
