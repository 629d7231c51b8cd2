"""Write src/icdsearch/data/icd_acronyms.csv: the acronyms FY2026 ICD-10-CM spells out in its own text.

    python scripts/mine_acronyms.py            # writes the file
    python scripts/mine_acronyms.py --check    # exits 1 if the shipped file is not what mining gives

Each code's description and inclusion terms go through :func:`icdsearch.shorthand.mine_acronyms`; the
query expander reads the file beside the curated data/abbreviations.csv, whose rows win.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict

from data_file import write_or_check
from icdsearch.codeset import default_code_set, synonyms
from icdsearch.shorthand import ACRONYMS_PATH, mine_acronyms

HEADER = """term,expansion,kind,case
# Acronyms that FY2026 ICD-10-CM spells out in its own descriptions and inclusion terms, mined by
# scripts/mine_acronyms.py (icdsearch.shorthand.mine_acronyms); do not edit by hand: run the script.
# Matched in capitals only. A term of data/abbreviations.csv wins over the same term here. See DATASHEET.md.
"""


def mined_text() -> str:
    codes = default_code_set()
    terms: dict[str, list[str]] = defaultdict(list)
    for synonym in synonyms(codes):
        terms[synonym.code].append(synonym.text)
    rows = mine_acronyms((code.description, terms[code.code]) for code in codes)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([a.term, a.expansion, a.kind, "CASE"] for a in rows)
    return HEADER + out.getvalue()


def main() -> int:
    return write_or_check(ACRONYMS_PATH, mined_text, __doc__.splitlines()[0], "mining the bundled code set",
                          "scripts/mine_acronyms.py", lambda text: text.count("\n") - HEADER.count("\n"))


if __name__ == "__main__":
    raise SystemExit(main())
