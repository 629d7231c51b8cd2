"""Draw the 100 benchmark codes the way arXiv 2401.01943 did: 50 three-character categories and 50
six-character codes (six characters without the dot), uniformly from the full FY2026 code set.

    python scripts/draw_benchmark_codes.py            # prints code,description CSV rows
    python scripts/draw_benchmark_codes.py --check    # exits 1 if data/ does not hold this draw
    python scripts/draw_benchmark_codes.py --dev [--check]   # the development set's 80 codes instead

The development set (data/paraphrase_dev.csv) draws 40 categories and 40 six-character codes the same
way, with its own seed, from the codes the benchmark did not draw. The seeds are recorded here and in
the datasheet; the draws are reproducible with the pinned code set.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys

from icdsearch.codeset import default_code_set
from icdsearch.evaluate import BENCHMARK_PATH, PARAPHRASE_DEV_PATH, load_dataset

SEED = 20260401
PER_GROUP = 50
DEV_SEED = 20261201
DEV_PER_GROUP = 40


def draw(dev: bool = False) -> list[tuple[str, str]]:
    codes = default_code_set()
    taken = set() if not dev else {code for code, _ in draw()}
    three = sorted(c.code for c in codes if len(c.code) == 3 and c.code not in taken)
    six = sorted(c.code for c in codes if len(c.code.replace(".", "")) == 6 and c.code not in taken)
    rng = random.Random(DEV_SEED if dev else SEED)
    per_group = DEV_PER_GROUP if dev else PER_GROUP
    chosen = rng.sample(three, per_group) + rng.sample(six, per_group)
    return [(code, codes.get(code).description) for code in chosen]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped benchmark")
    parser.add_argument("--dev", action="store_true", help="the development set's codes")
    args = parser.parse_args()
    rows = draw(args.dev)
    if args.check:
        shipped = sorted({q.code for q in load_dataset(PARAPHRASE_DEV_PATH if args.dev else BENCHMARK_PATH).queries})
        if shipped != sorted(code for code, _ in rows):
            print(f"the shipped {'development set' if args.dev else 'benchmark'}'s codes differ from this draw",
                  file=sys.stderr)
            return 1
        print(f"ok: {len(rows)} codes match seed {DEV_SEED if args.dev else SEED}")
        return 0
    writer = csv.writer(sys.stdout)
    writer.writerow(["code", "description"])
    writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
