"""The ICD-10-CM code set: the one module that knows where codes come from.

The default is FY2026 (April 1 2026 release) as shipped by simple-icd-10-cm. Another release loads from
CMS files: the fixed-width order file (``icd10cm_order_YYYY.txt``) or a plain ``code,description`` CSV.
Every code set carries a version label; a collection is made per (model, code-set version).

Loading the default set imports simple_icd_10_cm (a 9.7 MB XML parse): only ingest does that. The query
path needs only :func:`code_set_version`, which is cheap.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BadCodeSet
from .files import read_user_text

DEFAULT_VERSION = "icd10cm-fy2026-april"
DEFAULT_SOURCE = "simple-icd-10-cm, CMS ICD-10-CM April 1 2026 release (FY2026)"
#: The data file simple-icd-10-cm must ship for the label above to be true (checked when loading).
_EXPECTED_PACKAGE_FILE = "code-list-April-2026.txt"

#: The 22 chapters of ICD-10-CM as (number, first category, last category, title).
CHAPTERS: tuple[tuple[int, str, str, str], ...] = (
    (1, "A00", "B99", "Certain infectious and parasitic diseases"),
    (2, "C00", "D49", "Neoplasms"),
    (3, "D50", "D89", "Diseases of the blood and blood-forming organs and certain disorders involving the immune mechanism"),
    (4, "E00", "E89", "Endocrine, nutritional and metabolic diseases"),
    (5, "F01", "F99", "Mental, Behavioral and Neurodevelopmental disorders"),
    (6, "G00", "G99", "Diseases of the nervous system"),
    (7, "H00", "H59", "Diseases of the eye and adnexa"),
    (8, "H60", "H95", "Diseases of the ear and mastoid process"),
    (9, "I00", "I99", "Diseases of the circulatory system"),
    (10, "J00", "J99", "Diseases of the respiratory system"),
    (11, "K00", "K95", "Diseases of the digestive system"),
    (12, "L00", "L99", "Diseases of the skin and subcutaneous tissue"),
    (13, "M00", "M99", "Diseases of the musculoskeletal system and connective tissue"),
    (14, "N00", "N99", "Diseases of the genitourinary system"),
    (15, "O00", "O9A", "Pregnancy, childbirth and the puerperium"),
    (16, "P00", "P96", "Certain conditions originating in the perinatal period"),
    (17, "Q00", "QA0", "Congenital malformations, deformations and chromosomal abnormalities"),
    (18, "R00", "R99", "Symptoms, signs and abnormal clinical and laboratory findings, not elsewhere classified"),
    (19, "S00", "T88", "Injury, poisoning and certain other consequences of external causes"),
    (20, "V00", "Y99", "External causes of morbidity"),
    (21, "Z00", "Z99", "Factors influencing health status and contact with health services"),
    (22, "U00", "U85", "Codes for special purposes"),
)

_CODE_RE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:[0-9A-Z]{1,4})?$")


def normalize_code(text: str) -> str | None:
    """Return the dotted, upper-case form of a code-like string ("e119" -> "E11.9"), else None.

    Only the shape is checked, not whether the code exists.
    """
    compact = re.sub(r"[\s.]", "", text).upper()
    if not _CODE_RE.match(compact):
        return None
    return compact if len(compact) == 3 else f"{compact[:3]}.{compact[3:]}"


def chapter_of(code: str) -> int:
    """Chapter number (1-22) of a code, from its three-character category; 0 if outside all ranges."""
    category = code[:3].upper()
    for number, first, last, _ in CHAPTERS:
        if first <= category <= last:
            return number
    return 0


@dataclass(frozen=True)
class Code:
    """One ICD-10-CM code: a category (3 characters) or a subcategory, billable leaf or header."""

    code: str  # dotted form, e.g. "E11.9"
    description: str
    category: str  # the three-character category, e.g. "E11"
    chapter: int
    billable: bool
    parent: str  # the parent code, "" for a three-character category


@dataclass(frozen=True)
class CodeSet:
    """An ordered, de-duplicated set of codes with a version label (used in collection names)."""

    version: str
    codes: tuple[Code, ...]
    source: str = ""
    _index: dict[str, Code] = field(default=None, init=False, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {c.code: c for c in self.codes})

    def __len__(self) -> int:
        return len(self.codes)

    def __iter__(self) -> Iterator[Code]:
        return iter(self.codes)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and (normalize_code(code) or code) in self._index

    def get(self, code: str) -> Code | None:
        return self._index.get(normalize_code(code) or code)

    def subset(self, keep: Callable[[Code], bool], label: str) -> CodeSet:
        """A named subset, e.g. ``subset(lambda c: c.billable, "billable")``; its version gets the label."""
        if not re.fullmatch(r"[a-zA-Z0-9._-]+", label):
            raise ValueError(f"subset label must be [a-zA-Z0-9._-]+, got {label!r}")
        kept = tuple(c for c in self.codes if keep(c))
        return CodeSet(f"{self.version}-{label}", kept, f"{self.source}; subset {label}")


# ---------------------------------------------------------------------------------------------------------
# The default code set (simple-icd-10-cm)


@functools.lru_cache(maxsize=1)
def default_code_set() -> CodeSet:
    """All 98,186 FY2026 codes (categories and subcategories) from simple-icd-10-cm."""
    import warnings

    with warnings.catch_warnings():  # its importlib.resources calls warn on Python >= 3.11
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as cm

        cm.get_all_codes(True)  # parses the XML now, inside the filter

    shipped = getattr(cm.simple_icd_10_cm, "_all_codes_package_file_name", _EXPECTED_PACKAGE_FILE)
    if shipped != _EXPECTED_PACKAGE_FILE:
        raise BadCodeSet(
            f"simple-icd-10-cm ships {shipped}, not {_EXPECTED_PACKAGE_FILE}: install the version pinned in "
            "constraints.txt, or load that release from CMS files with --codes FILE"
        )
    seen: set[str] = set()
    codes: list[Code] = []
    for name in cm.get_all_codes(True):
        # Block names such as "B20" are also category names: de-duplicate by code, keep the category.
        if name in seen or not cm.is_category_or_subcategory(name):
            continue
        seen.add(name)
        codes.append(
            Code(
                code=name,
                description=cm.get_description(name),
                category=name[:3],
                chapter=chapter_of(name),
                billable=cm.is_leaf(name),
                parent="" if len(name) == 3 else cm.get_parent(name),
            )
        )
    return CodeSet(DEFAULT_VERSION, tuple(codes), DEFAULT_SOURCE)


@dataclass(frozen=True)
class Synonym:
    """Index-like text ICD-10-CM lists for a code: an inclusion term or an "Includes" note."""

    code: str
    text: str  # as ICD-10-CM writes it, nonessential modifiers in parentheses: "hypertension (arterial) (benign)"
    kind: str  # "inclusion" or "includes"

    @property
    def short(self) -> str:
        """The term without its parenthesised nonessential modifiers: "hypertension"."""
        return " ".join(_PARENS.sub(" ", self.text).split()) or self.text


_PARENS = re.compile(r"\([^()]*\)")


@functools.lru_cache(maxsize=4)
def synonyms(code_set: CodeSet) -> tuple[Synonym, ...]:
    """Inclusion terms and "Includes" notes of every code in ``code_set`` that FY2026 ICD-10-CM knows.

    They come from the bundled FY2026 tabular data whatever the code set's release; a term equal to the
    code's own description, or repeated, is left out. Imports simple_icd_10_cm: ingest only.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as cm

        out: list[Synonym] = []
        for code in code_set:
            if not cm.is_valid_item(code.code):
                continue
            seen = {code.description.casefold()}
            for kind, terms in (("inclusion", cm.get_inclusion_term(code.code)), ("includes", cm.get_includes(code.code))):
                for term in terms:
                    text = " ".join(term.split())
                    if text and text.casefold() not in seen:
                        seen.add(text.casefold())
                        out.append(Synonym(code.code, text, kind))
    return tuple(out)


def synonym_documents(items: Sequence[Synonym]) -> list[tuple[str, Synonym]]:
    """Each synonym with its document id, ``I10~1`` for I10's first synonym: the ids of the synonym
    collection and of the lexical index's synonym texts."""
    counts: dict[str, int] = {}
    out = []
    for syn in items:
        counts[syn.code] = counts.get(syn.code, 0) + 1
        out.append((f"{syn.code}~{counts[syn.code]}", syn))
    return out


# ---------------------------------------------------------------------------------------------------------
# CMS files

# 00001 A00     0 Cholera                                                      Cholera
_ORDER_RE = re.compile(r"^(\d{5}) ([A-Z0-9]{3,7}) *([01]) (.*)$")


def _read_text(path: Path) -> str:
    return read_user_text(path, "code-set file", BadCodeSet)[1]


def _file_version(path: Path, data: bytes | None = None) -> str:
    """Version label for a code-set file: its name plus a content hash, so an edited file is a new set."""
    data = path.read_bytes() if data is None else data
    stem = re.sub(r"[^a-zA-Z0-9._-]+", "-", path.stem).strip("-._") or "codes"
    return f"{stem[:60]}-{hashlib.sha256(data).hexdigest()[:10]}"


def _build(rows: Iterable[tuple[str, str, bool | None]], version: str, source: str) -> CodeSet:
    """Codes from (dotted code, description, billable or None) rows: parents and, if None, billable from the tree."""
    rows = list(rows)
    compact = sorted(code.replace(".", "") for code, _, _ in rows)
    has_child = {a for a, b in zip(compact, compact[1:]) if b.startswith(a)}
    present = set(compact)
    codes = []
    for code, description, billable in rows:
        bare = code.replace(".", "")
        parent = ""
        for cut in range(len(bare) - 1, 2, -1):
            if bare[:cut] in present:
                parent = normalize_code(bare[:cut]) or ""
                break
        codes.append(
            Code(
                code=code,
                description=description,
                category=code[:3],
                chapter=chapter_of(code),
                billable=(bare not in has_child) if billable is None else billable,
                parent=parent,
            )
        )
    return CodeSet(version, tuple(codes), source)


def load_order_file(path: str | Path) -> CodeSet:
    """Parse a CMS order file: order number, code, header/billable flag, short and long description."""
    path = Path(path)
    text = _read_text(path)
    rows: list[tuple[str, str, bool | None]] = []
    seen: set[str] = set()
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _ORDER_RE.match(line.rstrip())
        if not match:
            raise BadCodeSet(
                f"{path}:{lineno}: not a CMS order-file line (expected 'NNNNN CODE    F short-description  long-description')"
            )
        bare, flag, rest = match.group(2), match.group(3), match.group(4)
        code = normalize_code(bare)
        if code is None:
            raise BadCodeSet(f"{path}:{lineno}: {bare!r} is not an ICD-10-CM code")
        # Fixed width: a 60-character short description, a space, then the long one.
        description = (rest[61:].strip() if len(rest) > 61 else "") or rest[:60].strip()
        if not description:
            raise BadCodeSet(f"{path}:{lineno}: code {code} has no description")
        if code in seen:
            raise BadCodeSet(f"{path}:{lineno}: code {code} appears twice")
        seen.add(code)
        rows.append((code, description, flag == "1"))
    if not rows:
        raise BadCodeSet(f"{path} holds no codes")
    return _build(rows, _file_version(path), f"CMS order file {path.name}")


def load_csv(path: str | Path) -> CodeSet:
    """Parse a ``code,description`` CSV (a header row is optional); billable means a leaf of the set."""
    path = Path(path)
    text = _read_text(path)
    rows: list[tuple[str, str, bool | None]] = []
    seen: set[str] = set()
    try:
        records = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise BadCodeSet(f"{path}: not a readable CSV ({exc})") from None
    for lineno, record in enumerate(records, 1):
        if not record or not "".join(record).strip():
            continue
        if lineno == 1 and [x.strip().lower() for x in record[:2]] == ["code", "description"]:
            continue
        if len(record) < 2:
            raise BadCodeSet(f"{path}:{lineno}: expected two columns, code,description")
        code = normalize_code(record[0])
        if code is None:
            raise BadCodeSet(f"{path}:{lineno}: {record[0].strip()!r} is not an ICD-10-CM code")
        description = ",".join(record[1:]).strip()
        if not description:
            raise BadCodeSet(f"{path}:{lineno}: code {code} has no description")
        if code in seen:
            raise BadCodeSet(f"{path}:{lineno}: code {code} appears twice")
        seen.add(code)
        rows.append((code, description, None))
    if not rows:
        raise BadCodeSet(f"{path} holds no codes")
    return _build(rows, _file_version(path), f"CSV file {path.name}")


def load_file(path: str | Path) -> CodeSet:
    """A CMS order file or a CSV, told apart by the ``.csv`` suffix or, failing that, the first line."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return load_csv(path)
    first = next((line for line in _read_text(path).splitlines() if line.strip()), "")
    return load_order_file(path) if _ORDER_RE.match(first.rstrip()) else load_csv(path)


# ---------------------------------------------------------------------------------------------------------
# The --codes option: "all", "billable" or a file


def resolve_code_set(spec: str | CodeSet = "all") -> CodeSet:
    """The code set named by ``--codes``: "all" (default), "billable", a file path, or a CodeSet as is."""
    if isinstance(spec, CodeSet):
        return spec
    if spec == "all":
        return default_code_set()
    if spec == "billable":
        return default_code_set().subset(lambda c: c.billable, "billable")
    return load_file(spec)


def code_set_version(spec: str | CodeSet = "all") -> str:
    """The version label of ``--codes`` without loading the code set (cheap: the query path uses it)."""
    if isinstance(spec, CodeSet):
        return spec.version
    if spec == "all":
        return DEFAULT_VERSION
    if spec == "billable":
        return f"{DEFAULT_VERSION}-billable"
    path = Path(spec)
    return _file_version(path, read_user_text(path, "code-set file", BadCodeSet)[0])
