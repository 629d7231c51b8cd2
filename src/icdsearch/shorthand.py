"""Clinical abbreviations, shorthand and lay words: expand a query into the words ICD-10-CM uses.

The list is data/abbreviations.csv (its datasheet: data/DATASHEET.md). A term matches as a whole word,
in any letter case unless its row says ``CASE`` (then "PE" expands but "pe" does not); longer terms win
("w/o" before "w/", "a fib" before "af"). "T2DM w/o complications" becomes
"type 2 diabetes mellitus without complications".
"""

from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import BadDataset

ABBREVIATIONS_PATH = Path(__file__).parent / "data" / "abbreviations.csv"
KINDS = ("abbreviation", "shorthand", "lay")


@dataclass(frozen=True)
class Abbreviation:
    term: str
    expansion: str
    kind: str
    case_sensitive: bool


def load_abbreviations(path: str | Path = ABBREVIATIONS_PATH) -> tuple[Abbreviation, ...]:
    """Rows of an abbreviation file (term, expansion, kind, case); lines starting with # are comments."""
    text = Path(path).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    rows = list(csv.DictReader(io.StringIO("\n".join(lines))))
    out: list[Abbreviation] = []
    seen: set[str] = set()
    for n, row in enumerate(rows, 2):
        term, expansion = (row.get("term") or "").strip(), (row.get("expansion") or "").strip()
        kind, case = (row.get("kind") or "").strip(), (row.get("case") or "").strip()
        if not term or not expansion or kind not in KINDS or case not in ("any", "CASE"):
            raise BadDataset(f"{path}: row {n} needs term, expansion, kind ({'|'.join(KINDS)}) and case (any|CASE)")
        key = term if case == "CASE" else term.lower()
        if key in seen:
            raise BadDataset(f"{path}: row {n} repeats the term {term!r}")
        seen.add(key)
        out.append(Abbreviation(term, expansion, kind, case == "CASE"))
    return tuple(out)


class Expander:
    """Replaces every listed term in a text by its expansion, in one pass."""

    def __init__(self, abbreviations: tuple[Abbreviation, ...]) -> None:
        self.abbreviations = abbreviations
        by_key = {}
        parts = []
        for a in sorted(abbreviations, key=lambda a: -len(a.term)):
            body = re.escape(a.term).replace(r"\ ", r"\s+")
            parts.append(body if a.case_sensitive else f"(?i:{body})")
            by_key[a.term if a.case_sensitive else a.term.lower()] = a.expansion
        self._map = by_key
        #: Words of the expansions: ICD-10-CM's or clinicians' words, never "misspellings" to correct.
        self.protected = frozenset(w.lower() for a in abbreviations for w in re.findall(r"[A-Za-z][A-Za-z'-]*", a.expansion))
        self._pattern = re.compile(r"(?<![\w/'-])(?:" + "|".join(parts) + r")(?![\w/'-])") if parts else None

    def _lookup(self, match: re.Match[str]) -> str:
        found = " ".join(match.group(0).split())
        return self._map.get(found) or self._map.get(found.lower()) or found

    def expand(self, text: str) -> str:
        if self._pattern is None:
            return text
        return " ".join(self._pattern.sub(self._lookup, text).split())


@functools.lru_cache(maxsize=1)
def default_expander() -> Expander:
    return Expander(load_abbreviations())
