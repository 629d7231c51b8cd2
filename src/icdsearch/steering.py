"""Code-aware answers: laterality and encounter words in a query steer among sibling codes.

ICD-10-CM often has one code per side (right / left / bilateral / unspecified) and per encounter
(initial / subsequent / sequela, with fracture healing details). Such siblings share a description once
the side and encounter words are taken out: that shared text, within one category, is a *variant group*.
After ranking, each group is answered first by the member that matches what the query says
("sprained right ankle, first visit" -> the right-side, initial-encounter code), and by the unspecified
side when the query names none, as a coder would.

The same coder's rule applies across a category (:func:`prefer_general`): when the query asks for nothing
more, "chest pain" is R07.9 "Chest pain, unspecified", not R07.89 "Other chest pain"; "gastritis" is
K29.70 "Gastritis, unspecified, without bleeding". Among the best-ranked codes of one category, a code
whose description asks nothing the query did not say (beyond "unspecified", "uncomplicated", a "without
..." clause, an encounter) moves ahead of one that asks more ("other", "with bleeding"), provided it
covers every query word the ranked code covers; failing one, a code that asks only part of what the
ranked code asks ("steroid induced diabetes" is E09.9, not E09.8 "... with unspecified complications").
A header handed to a billable descendant (:func:`steer`) goes to one that says no more than it, its
unspecified child, unless the query's side or encounter says otherwise. Among all codes, where a header is an answer,
a code gives way to its header when the query says none of the words it adds (:func:`prefer_header`:
"family history of cancer" is Z80, not Z80.9 "..., unspecified"). Across categories, a description that says exactly
what the query says comes first (:func:`prefer_exact`: "depression" is F32.A), and a query about a history
("hx of breast cancer", "family hx of colon cancer") is answered by the codes that record one
(:func:`prefer_history`), and a query naming no newborn, pregnancy or congenital condition by a code
meant for anybody (:func:`prefer_unrestricted`: "diverticulitis" is K57, not Q43.8). With no encounter
named, siblings are answered by the initial encounter. Titles
are read by ICD-10-CM's conventions (:func:`wordings`): words in parentheses are nonessential, brackets hold
synonyms, "and" means "and/or", "not elsewhere classified" asks nothing. What a record leaves unsaid takes
ICD-10-CM's default (:func:`named_defaults`): a poisoning is accidental, a diabetes type 2
(:func:`prefer_default_type`), a fracture closed, displaced and, of no named cause, an injury, and so a
dislocation (:func:`prefer_traumatic_fracture`).

Pure functions over arrays built at ingest (:func:`variant_table`), no model and no store.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass

import numpy as np

SIDES = ("", "right", "left", "bilateral", "unspecified")  # index 0: the description names no side
_SIDE_WORD = re.compile(r"\b(right|left|bilateral|unspecified)\b", re.IGNORECASE)
_ENCOUNTER = re.compile(r",?\s*\b((?:initial|subsequent) encounter\b.*|sequela)$", re.IGNORECASE)


def variant_key(description: str) -> tuple[str, int, str]:
    """(group text, side index, encounter suffix) of one description."""
    text = description.strip()
    suffix = ""
    found = _ENCOUNTER.search(text)
    if found:
        suffix = found.group(1).lower()
        text = text[: found.start()]
    sides = [m.group(1).lower() for m in _SIDE_WORD.finditer(text)]
    named = [s for s in sides if s != "unspecified"]
    side = SIDES.index(named[0]) if named else (SIDES.index("unspecified") if sides else 0)
    return _SIDE_PHRASE.sub(_side_phrase, text.lower()), side, suffix


# A side word and what it qualifies, up to the next comma or "with": "right eye", "bilateral lacrimal
# glands", "unspecified upper limb". ICD-10-CM's bilateral sibling drops the organ ("Simple chronic
# conjunctivitis, bilateral" beside "..., right eye") or names it in the plural ("... of bilateral lacrimal
# glands" beside "... of right lacrimal gland"): the group text takes both out, so that all four sides
# are one group.
_SIDE_PHRASE = re.compile(r"\b(?:right|left|bilateral|unspecified)\b([^,]*?)"
                          r"(?=,|\bwith\b|\bwithout\b|\b(?:right|left|bilateral|unspecified)\b|$)")
_SIDE_ORGAN = re.compile(r"^\s*(eye|ear)s?\b")


def _side_phrase(match: re.Match[str]) -> str:
    return "*" + re.sub(r"\b\w{4,}\b", _singular, _SIDE_ORGAN.sub("", match.group(1)))


def _singular(word: re.Match[str] | str) -> str:
    """ "glands" -> "gland", "arteries" -> "artery"; "abscess", "plexus", "pelvis" stay."""
    text = word if isinstance(word, str) else word.group(0)
    if text.endswith(("ss", "us", "is")) or not text.endswith("s"):
        return text
    return text[:-3] + "y" if text.endswith("ies") and len(text) >= 6 else text[:-1]


@dataclass(frozen=True)
class VariantTable:
    """Per code index: variant group (-1: alone), side index, encounter-suffix index, billable flag, and the
    end of its descendants (codes come in tabular order, so a code's descendants directly follow it)."""

    group: np.ndarray
    side: np.ndarray
    suffix: np.ndarray
    suffixes: tuple[str, ...]
    billable: np.ndarray
    end: np.ndarray

    @classmethod
    def build(cls, codes: Sequence[str], descriptions: Sequence[str], billable: Sequence[bool]) -> VariantTable:
        keys: dict[tuple[str, str], int] = {}
        suffixes: dict[str, int] = {"": 0}
        group = np.empty(len(codes), dtype=np.int32)
        side = np.zeros(len(codes), dtype=np.int8)
        suffix = np.zeros(len(codes), dtype=np.int16)
        for i, (code, description) in enumerate(zip(codes, descriptions)):
            key, side[i], text = variant_key(description)
            group[i] = keys.setdefault((code[:3], key), len(keys))
            suffix[i] = suffixes.setdefault(text, len(suffixes))
        sizes = np.bincount(group, minlength=len(keys))
        group[sizes[group] < 2] = -1
        end = np.arange(1, len(codes) + 1, dtype=np.int32)
        stack: list[int] = []
        for i, code in enumerate(codes):
            while stack and not code.startswith(codes[stack[-1]]):
                end[stack.pop()] = i
            stack.append(i)
        for i in stack:
            end[i] = len(codes)
        return cls(group, side, suffix, tuple(suffixes), np.asarray(billable, dtype=bool), end)

    @functools.cached_property
    def _members(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.group, kind="stable")
        groups = self.group[order]
        starts = np.searchsorted(groups, np.arange(int(self.group.max()) + 2))
        return order, starts

    def members(self, g: int) -> np.ndarray:
        order, starts = self._members
        return order[starts[g] : starts[g + 1]]

    def fit(self, intent: Intent, indices: np.ndarray) -> np.ndarray:
        """:func:`preference` of each code index, vectorised."""
        side_score, suffix_score = _score_tables(intent, self.suffixes)
        return side_score[self.side[indices]] + suffix_score[self.suffix[indices]]


@functools.lru_cache(maxsize=64)
def _score_tables(intent: Intent, suffixes: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`preference` by side and by encounter suffix, computed once per intent (steer calls fit often)."""
    side_score = np.array([preference(intent, s, "") for s in range(len(SIDES))])
    suffix_score = np.array([preference(intent, 0, text) - preference(intent, 0, "") for text in suffixes])
    return side_score, suffix_score


@dataclass(frozen=True)
class Intent:
    """What a query says about side and encounter."""

    side: str = ""  # right | left | bilateral | unspecified (said to be) | "" (not said)
    encounter: str = ""  # initial | subsequent | sequela | ""
    details: tuple[str, ...] = ()  # open, closed, routine healing, delayed healing, nonunion, malunion


_INTENT_SIDE = (
    ("bilateral", re.compile(r"\b(bilateral|both (sides|eyes|ears|knees|hips|legs|arms|feet|hands|breasts|lungs|kidneys)|b/l)\b")),
    ("right", re.compile(r"\b(right|rt)\b")),
    ("left", re.compile(r"\b(left|lt)\b")),
    # a side said to be unspecified: the unspecified member of a side group, not a header of no side
    ("unspecified", re.compile(r"\b(?:unspecified (?:side|laterality)|(?:side|laterality) (?:unspecified|not specified)|"
                               r"unknown (?:side|laterality))\b")),
)
_INTENT_ENCOUNTER = (
    ("sequela", re.compile(r"\b(sequela|sequelae|late effects?|residual effects?)\b")),
    ("subsequent", re.compile(r"\b(subsequent|follow[- ]?up|f/u|recheck|return visit|healing|second visit|aftercare)\b")),
    ("initial", re.compile(r"\b(initial|first (visit|encounter|time|presentation)|new injury|acute injury|er visit|ed visit|emergency)\b")),
)
_DETAILS = ("open", "closed", "routine healing", "delayed healing", "nonunion", "malunion")


def parse_intent(text: str) -> Intent:
    low = text.lower()
    sides = [name for name, pattern in _INTENT_SIDE if pattern.search(low)]
    side = sides[0] if len(sides) == 1 else ("bilateral" if {"right", "left"} <= set(sides) else "")
    encounter = next((name for name, pattern in _INTENT_ENCOUNTER if pattern.search(low)), "")
    details = tuple(d for d in _DETAILS if re.search(rf"\b{d}\b", low))
    return Intent(side, encounter, details)


def preference(intent: Intent, side: int, suffix: str) -> float:
    """How well one member of a variant group fits the query (higher is better)."""
    score = 0.0
    name = SIDES[side]
    if intent.side:
        score += 2.0 if name == intent.side else (-1.0 if name in ("unspecified", "") else -2.0)
    elif name == "unspecified":
        score += 1.0  # no side said: a coder codes the unspecified side
    elif name == "":
        score += 0.9
    if intent.encounter and suffix:
        score += 2.0 if suffix.startswith(intent.encounter) else -2.0
    for detail in intent.details:
        if detail in suffix:
            score += 0.5
    return score


#: Words a coder assumes when a query says nothing: a description using them asks nothing more of the query.
#: "mellitus": "diabetes" says diabetes mellitus (ICD-10-CM's index: "Diabetes, diabetic (mellitus)").
#: "associated": "associated with" says only "with" ("painful micturition" says all of R30 "Pain associated
#: with micturition"; "vaccine-associated" is "vaccine").
DEFAULT_WORDS = ("unspecified", "uncomplicated", "nos", "mellitus", "associated")
# "without ..." runs to the end ("... without behavioral disturbance, psychotic disturbance, and anxiety"),
# to a trimester or a side after a comma ("... without significant proteinuria, third trimester") or
# to a "with" clause, which asks something ("Calculus of gallbladder without cholecystitis with obstruction");
# "unspecified site" and the like say what is *not* specified; "not elsewhere classified" (NEC) says only
# that no other code takes it ("Fatty (change of) liver, not elsewhere classified" is the code of a fatty liver).
# "Without foreign body" ends there: the site follows ("Laceration without foreign body of scalp"); "unspecified
# as acute or chronic", "not specified as traumatic" and the like say what the record does not say; so does
# "not intractable", ICD-10-CM's default for a migraine or an epilepsy not documented as intractable.
_UNASKED = re.compile(r"\bwithout foreign body\b|\bwithout\b(?:(?!\bwith\b|, (?:(?:first|second|third|unspecified) "
                      r"trimester|right|left|bilateral)\b).)*|\b(?:un|not )specified as\b[^,]*|"
                      r"\bnot intractable\b|"
                      r"\bunspecified (site|part|organism|species|severity|stage|trimester|type)\b|"
                      r"\bnot elsewhere classified\b|\bNEC\b", re.IGNORECASE)
#: The intent a poisoning or toxic effect is coded with when none is documented (ICD-10-CM guideline
#: I.C.19.e.5.b): it asks nothing of a query that names no intent ("bee sting" is T63.441A).
_ACCIDENTAL = re.compile(r"\baccidental \(unintentional\)", re.IGNORECASE)
#: A query that names an intent, in ICD-10-CM's words or a clinician's.
_INTENT_QUERY = re.compile(r"\b(accident|unintention|intention|self[- ]?(harm|inflict)|suicid|assault|homicid|"
                           r"attack|undetermined|deliberate|on purpose)", re.IGNORECASE)


#: A query that names a type or kind of diabetes that ICD-10-CM codes apart from type 2, in the words left
#: once abbreviations are expanded ("T1DM" reads "type 1 diabetes mellitus").
_DIABETES_TYPE_QUERY = re.compile(r"\btype\s*(?:[12]|i{1,2}|one|two)\b|\bjuvenile\b|\binsulin[- ]dependent\b|"
                                  r"\bsecondary\b|\bdue to\b|\bunderlying\b|\binduced\b|\bdrug\b|\bchemical\b|"
                                  r"\bsteroid|\bgestational\b|\bpregnan|\bpre-?existing\b|\bother specified\b|"
                                  r"\bneonatal\b|\bmonogenic\b|\bmody\b", re.IGNORECASE)
#: "Type 2" in a diabetes title: the type ICD-10-CM codes when none is documented (its Official Guidelines:
#: "If the type of diabetes mellitus is not documented in the medical record the default is E11.-").
_TYPE_2 = re.compile(r"\btype 2 (?=diabetes\b)", re.IGNORECASE)
#: The diabetes categories besides type 2 (E11): due to an underlying condition, drug or chemical induced,
#: type 1, other specified. Their subcategories are E11's, code for code (E13.621 and E11.621: foot ulcer).
_OTHER_DIABETES = ("E08", "E09", "E10", "E13")
#: "Displaced" in a fracture title: "A fracture not indicated whether displaced or not displaced should be
#: coded to displaced" (ICD-10-CM guideline I.C.19.c.1), so it asks nothing of a query that does not say.
_DISPLACED = re.compile(r"\bdisplaced (?=fracture\b)", re.IGNORECASE)
_DISPLACEMENT_QUERY = re.compile(r"\b(?:non-?|un)?displace", re.IGNORECASE)
#: "Primary" before "malignant neoplasm": a malignant neoplasm not said to be secondary is coded as primary
#: (the Neoplasm Table's first column), so it asks nothing of a query that does not say ("family history of
#: cancer", once expanded, says all of Z80 "Family history of primary malignant neoplasm").
_PRIMARY = re.compile(r"\bprimary (?=malignant neoplasm\b)", re.IGNORECASE)
_ORIGIN_QUERY = re.compile(r"\b(?:primary|secondary|metasta|spread)", re.IGNORECASE)
#: "Acute" before "embolism and thrombosis": a venous thrombosis not said to be chronic is acute (ICD-10-CM's
#: index: "Embolism, vein, lower extremity, deep (acute) I82.40-", "chronic I82.5-"), so it asks nothing of
#: a query that does not say ("blood clot in leg", once expanded, is I82.4-, not I82.5- "Chronic ...").
_ACUTE = re.compile(r"\bacute (?=embolism and thrombosis\b)", re.IGNORECASE)
_CHRONICITY_QUERY = re.compile(r"\b(?:acute|chronic|old|subacute|recurrent)", re.IGNORECASE)


def names_intent(text: str) -> bool:
    """Whether a query says with what intent (accidental, self-harm, assault, undetermined) it happened."""
    return bool(_INTENT_QUERY.search(text))


def named_defaults(text: str) -> frozenset[str]:
    """Which of ICD-10-CM's defaults for what a record leaves unsaid the query overrides: "intent" when it
    names an intent (else a poisoning is accidental), "diabetes type" when it names a type or kind of
    diabetes (else it is type 2), "displacement" when it says whether a fracture is displaced (else it is),
    "neoplasm origin" when it says primary or secondary (else a malignant neoplasm is primary), "chronicity"
    when it says acute, chronic or old (else a venous embolism and thrombosis is acute)."""
    return frozenset(name for name, named in (("intent", names_intent(text)),
                                              ("diabetes type", bool(_DIABETES_TYPE_QUERY.search(text))),
                                              ("displacement", bool(_DISPLACEMENT_QUERY.search(text))),
                                              ("neoplasm origin", bool(_ORIGIN_QUERY.search(text))),
                                              ("chronicity", bool(_CHRONICITY_QUERY.search(text)))) if named)
#: prefer_general looks at this many of the best-ranked codes.
GENERAL_WINDOW = 10


#: "Other specified ..." says no more than "Other ...": what the record specifies is not in the code's words.
_OTHER_SPECIFIED = re.compile(r"\bother specified\b", re.IGNORECASE)


def qualifier_text(description: str, named: frozenset[str] = frozenset(), modifiers: bool = False) -> str:
    """A description less what asks nothing of a query: the encounter suffix (steering's), a trailing
    "without ..." clause, "unspecified site" and the like ("Gastritis, unspecified, without bleeding" ->
    "Gastritis, unspecified, "), ICD-10-CM's nonessential modifiers, which may be present or absent
    without changing the code ("Bathroom of unspecified non-institutional (private) residence" asks no
    "private"; kept with ``modifiers``, for the wording that says them), "specified" after "other", and
    ICD-10-CM's defaults that the query does not override
    (:func:`named_defaults`): "accidental (unintentional)", the "type 2" of a diabetes, the "displaced" of a
    fracture, the "primary" of a malignant neoplasm, the "acute" of a venous embolism and thrombosis.
    :data:`DEFAULT_WORDS`
    go when tokens are compared."""
    text = _OTHER_SPECIFIED.sub("other", _ENCOUNTER.sub("", fold(description).strip()))
    text = _UNASKED.sub(" ", text if modifiers else _NONESSENTIAL.sub(" ", text))
    if "intent" not in named:
        text = _ACCIDENTAL.sub(" ", text)
    if "diabetes type" not in named:
        text = _TYPE_2.sub(" ", text)
    if "displacement" not in named:
        text = _DISPLACED.sub(" ", text)
    if "neoplasm origin" not in named:
        text = _PRIMARY.sub(" ", text)
    if "chronicity" not in named:
        text = _ACUTE.sub(" ", text)
    return text


def prefer_default_type(ranked: Sequence[int], named: frozenset[str], codes: Sequence[str],
                        position: dict[str, int], answerable: Callable[[int], bool],
                        window: int = GENERAL_WINDOW) -> list[int]:
    """Unless the query names a type of diabetes, a diabetes code of another type among the first ``window``
    is preceded by its type 2 counterpart, as ICD-10-CM codes an undocumented type: "diabetic foot ulcer"
    is E11.621, not E13.621 "Other specified diabetes mellitus with foot ulcer"; "diabetic neuropathy"
    E11.40, not E08.40 "... due to underlying condition ...". ``answerable(i)``: code i may be answered."""
    if "diabetes type" in named:
        return list(ranked)
    out: list[int] = []
    placed: set[int] = set()
    for index in ranked[:window]:
        if index in placed:
            continue
        if codes[index][:3] in _OTHER_DIABETES:
            counterpart = position.get("E11" + codes[index][3:])
            if counterpart is not None and counterpart not in placed and answerable(counterpart):
                out.append(counterpart)
                placed.add(counterpart)
        out.append(index)
        placed.add(index)
    return out + [i for i in ranked if i not in placed]


def fold(text: str) -> str:
    """Accents off ("Boutonnière" -> "Boutonniere"): people type them rarely."""
    import unicodedata

    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def prefer_general(ranked: Sequence[int], query: frozenset[str], qualifiers: Callable[[int], frozenset[str]],
                   category: Callable[[int], str], table: VariantTable, window: int = GENERAL_WINDOW,
                   said: Callable[[int], frozenset[str]] | None = None, intent: Intent | None = None) -> list[int]:
    """Reorder code indices so that, among the first ``window``, a code that asks for more than the query
    said is preceded by a sibling that asks for nothing more.

    ``query``: the query's tokens; ``qualifiers(i)``: code i's description tokens less the default words.
    Each code of the window in turn, if it asks for something the query did not say, hands its slot to the
    best-ranked unplaced code of its category within the window whose qualifiers are all in the query and
    that misses no query token the ranked code covers; the ranked code comes next. Failing such a code,
    the one asking the fewest words among those that ask only part of what the ranked code asks (E09.9 "...
    without complications" asks "drug or chemical", E09.8 that and "complications"). A rival asking
    something else is no more general: as likely, the ranked code's word is a paraphrase the words cannot
    see ("medication" for "drug-induced"). With ``said`` (code i's whole description's tokens), a ranked code
    that leaves a query word unsaid yields, failing those, to the rival that says more of the query and asks
    nothing the ranked code does not ask ("moderate recurrent major depression" is F33.1 "..., recurrent,
    moderate", not F33.9 "..., recurrent, unspecified"). Past the window nothing moves. Members of the
    ranked code's variant group are not rivals (side and encounter are :func:`steer`'s to choose), nor is a
    non-billable header for a billable code (a header has no encounter or detail words to count). With
    ``intent`` naming a side, nor is a code that fits that side worse: "osteoarthritis of both knees" is M17.0
    "Bilateral primary osteoarthritis of knee", not M17.9 "Osteoarthritis of knee, unspecified", which names
    no side and asks no "primary".
    """
    top = list(ranked[:window])
    fit = ({i: float(table.fit(intent, np.array([i]))[0]) for i in top} if intent is not None and intent.side
           else {i: 0.0 for i in top})
    # Exact matches by set difference first; only the words left over are tried as prefixes.
    asks = {i: frozenset(w for w in qualifiers(i) - query if not any(_same_word(w, q) for q in query)) for i in top}
    missed = {i: frozenset(q for q in query - qualifiers(i) if not any(_same_word(q, w) for w in qualifiers(i)))
              for i in top}
    # Query words a code's whole description does not say ("without complications" says "complications").
    unsaid = {i: frozenset(q for q in missed[i] if not any(_same_word(q, w) for w in said(i))) for i in top} if said else {}

    def pick(index: int, placed: set[int]) -> int:
        rivals = [j for j in top if j not in placed and category(j) == category(index) and missed[j] <= missed[index]
                  and (j == index or ((table.group[j] < 0 or table.group[j] != table.group[index])
                                      and (table.billable[j] or not table.billable[index])
                                      and fit[j] >= fit[index]))]
        best = min(rivals, key=lambda j: (bool(asks[j]), top.index(j)))  # a rival that asks nothing more
        if best == index and asks[index]:
            fewer = [j for j in rivals if asks[j] < asks[index]]  # asks only part of what it asks
            if fewer:
                best = min(fewer, key=lambda j: (len(asks[j]), top.index(j)))
        if best == index and said is not None and unsaid[index]:
            # Says more of the query and asks nothing the ranked code does not: "moderate recurrent major
            # depression" is F33.1 "..., recurrent, moderate", not F33.9 "..., recurrent, unspecified".
            fuller = [j for j in rivals if unsaid[j] < unsaid[index] and asks[j] <= asks[index]]
            if fuller:
                best = min(fuller, key=lambda j: (len(unsaid[j]), len(asks[j]), top.index(j)))
        return best

    return _lead(ranked, window, pick)


#: A side phrase as :func:`variant_key` marks it in a group text ("*" and what the side qualifies).
_SIDE_MARK = re.compile(r",?\s*\*[^,]*")


def residual_core(description: str, other: bool = True) -> str | None:
    """A description's text without side and encounter, lower case; with ``other``, only that of ICD-10-CM's
    residual code "Other X" (its "X"), else None: "Other paralytic strabismus, unspecified eye" ->
    "paralytic strabismus"."""
    core = _SIDE_MARK.sub("", variant_key(description)[0]).strip(" ,")
    if not other:
        return core
    return core[len("other "):] if core.startswith("other ") else None


def _lead(ranked: Sequence[int], window: int, pick: Callable[[int, set[int]], int]) -> list[int]:
    """Each of the first ``window`` codes in turn, unless already placed, preceded by ``pick(index, placed)``
    (an unplaced code) when that is another code; past the window the rest keep their order."""
    out: list[int] = []
    placed: set[int] = set()
    for index in ranked[:window]:
        if index in placed:
            continue
        best = pick(index, placed)
        if best != index:
            out.append(best)
            placed.add(best)
        out.append(index)
        placed.add(index)
    return out + [i for i in ranked[window:] if i not in placed]


def prefer_header(ranked: Sequence[int], query: frozenset[str], words: Callable[[int], frozenset[str]],
                  parent: Callable[[int], int | None], exact: Callable[[int], bool],
                  exact_title: Callable[[int], bool], intent: Intent, table: VariantTable,
                  window: int = GENERAL_WINDOW, alternatives: bool = False,
                  plural: Callable[[int, int], bool] | None = None,
                  synonyms: Callable[[int], Sequence[frozenset[str]]] | None = None,
                  residual: Callable[[int], int | None] | None = None) -> list[int]:
    """Reorder code indices so that, among the first ``window``, a code is preceded by its header (also
    among them) when the query says none of the words the code adds to it: "family history of cancer" is
    Z80 "Family history of primary malignant neoplasm", not Z80.9 "..., unspecified"; "dislocated T8-T9
    thoracic vertebrae" is S23.151, not S23.151A "..., initial encounter"; "type 2 diabetes" is E11. For
    answers among all codes, where a header is an answer (with billable codes only, :func:`steer` hands a
    header's place to a descendant instead); the climb goes on while the query says nothing more.

    ``words(i)``: every token of code i's description, "unspecified" and the encounter included, so a query
    that says "unspecified" keeps the unspecified child; ``query``: the query's tokens likewise. The climb
    stops at a header whose title says "other" the query did not ("hypothyroidism" is not E03 "Other
    hypothyroidism"); at a code that says exactly the query (``exact(i)``, inclusion terms and ICD-10-CM's
    readings of titles counted) when the header's own title does not (``exact_title(i)``: "chest pain" is
    R07.9 "Chest pain, unspecified", not R07 "Pain in throat and chest"); at a code that adds no word and a
    header that says only more ("Dislocation of T8/T9 thoracic vertebra" is not S23.15 "Subluxation and
    dislocation of T8/T9-T9/T10 thoracic vertebra"); and at a code whose side or encounter fits the query's
    better than the header's none ("..., right ankle, first visit"). A code that only adds an encounter the
    query does not name climbs to its header even past the window: "poisoned by another person with
    diuretics" is T50.2X3 "..., assault" wherever it ranks, not T50.2X3A "..., assault, initial encounter".
    With ``alternatives`` (the query says "or" / "and other": :func:`says_alternatives`), a code climbs to a
    header two of whose children the query names, wherever it ranks: "migraine with or without aura" is G43,
    "webbed fingers or toes" Q70 "Syndactyly". With ``plural`` (:func:`says_plural`), a code climbs to a
    header among the first ``window`` that says a word the query says in the plural, where the code says
    it in the singular or not at all, unless the header says "other" the query does not or the code's side
    or encounter fits better: "genital herpes infections" is A60 "Anogenital herpesviral [herpes simplex]
    infections", not A60.9 "Anogenital herpesviral infection, unspecified". With ``residual(i)`` (the header
    that code i, ICD-10-CM's residual "Other X", is named after: LexicalIndex.residual_header), a code
    that says "other" the query does not climbs to that header wherever it ranks, unless the query says a
    word of an inclusion term on the way or a side the code fits better: "paralytic cross-eye" is H49
    "Paralytic strabismus", not H49.889 "Other paralytic strabismus, unspecified eye"."""
    shown = set(ranked[:window])

    def encounter_only(code: int, up: int) -> bool:
        """Whether ``code`` is ``up`` with an encounter added and nothing else, and the query names none."""
        return (not intent.encounter and table.group[code] >= 0 and table.group[code] == table.group[up]
                and bool(table.suffixes[table.suffix[code]]) and not table.suffixes[table.suffix[up]])

    def names_alternatives(up: int) -> bool:
        return _names_alternatives(up, query, words, parent, lambda i: int(table.end[i]), synonyms)

    def fits_better(code: int, up: int) -> bool:
        """Whether ``code`` names an "other" the query does not, or fits its side or encounter better."""
        return (("other" in words(up) - words(code) and "other" not in query)
                or (bool(intent.side or intent.encounter)
                    and table.fit(intent, np.array([code]))[0] > table.fit(intent, np.array([up]))[0]))

    def plural_header(code: int, placed: set[int]) -> int | None:
        """The nearest header of ``code`` among the first ``window`` that says a plural of the query that
        ``code`` does not (a header between them need not be among them), unless ``code`` fits better."""
        up = parent(code)
        while up is not None and up not in placed:
            if up in shown and plural is not None and plural(code, up):
                return None if fits_better(code, up) else up
            up = parent(up)
        return None

    def residual_header(code: int, placed: set[int]) -> int | None:
        """The header that ``code``, ICD-10-CM's "Other X", is named after ("X"), wherever it ranks, when the
        query says no "other", nor a word of the inclusion terms of ``code`` or of the codes between them,
        and ``code`` fits its side or encounter no better."""
        up = residual(code) if residual is not None and "other" not in query else None
        if up is None or up in placed or fits_better(code, up):
            return None
        between = code
        while between != up:
            for option in synonyms(between) if synonyms else ():
                if any(_same_word(q, w) for q in query for w in option - words(up)):
                    return None
            between = parent(between)  # type: ignore[assignment]
        return up

    def pick(index: int, placed: set[int]) -> int:
        chosen = index
        if (header := residual_header(index, placed)) is not None:
            chosen = header
        while (up := parent(chosen)) is not None and up not in placed:
            if alternatives and names_alternatives(up):
                chosen = up  # the header of the alternatives the query names, wherever it ranks
                continue
            if (header := plural_header(chosen, placed)) is not None:
                chosen = header  # the header says the query's plural ("infections"), its child does not
                continue
            if not (up in shown or encounter_only(chosen, up)) or fits_better(chosen, up):
                break
            added, more = words(chosen) - words(up), words(up) - words(chosen)
            if (any(_same_word(q, w) for q in query for w in added)
                    or (exact(chosen) and not exact_title(up))
                    or (not added and not any(_same_word(q, w) for q in query for w in more))):
                break
            chosen = up
        return chosen

    return _lead(ranked, window, pick)


#: "... in traffic accident": the default of a vehicle accident whose record does not say where it happened
#: (the transport accident definitions: one is assumed to have occurred on the public highway unless another
#: place is specified), which names no alternative: V71.5 "Driver of bus injured in collision with pedal
#: cycle in traffic accident" is named by "driver".
_TRAFFIC_WORDS = frozenset({"traffic", "accid", "accident"})


def _names_alternatives(up: int, query: frozenset[str], words: Callable[[int], frozenset[str]],
                        parent: Callable[[int], int | None], end: Callable[[int], int],
                        synonyms: Callable[[int], Sequence[frozenset[str]]] | None = None) -> bool:
    """Whether the query says all that each of two children of ``up`` adds to it, differently: "migraine
    with or without aura" names G43.0 "Migraine without aura" and G43.1 "Migraine with aura". With
    ``synonyms(i)`` (the tokens of code i's other wordings), a child is named by any of its wordings too:
    "pernicious anemia and other B12 deficiency anemias" names D51.0, whose inclusion term is "Pernicious
    anemia", and D51.8 "Other vitamin B12 deficiency anemias"."""
    said = set()
    for child in range(up + 1, end(up)):
        if parent(child) == up:
            for option in (words(child), *(synonyms(child) if synonyms else ())):
                added = option - words(up)
                if "traffic" in added and not any(_same_word(q, "traffic") for q in query):
                    added = added - _TRAFFIC_WORDS  # ICD-10-CM's default, unless the query says where
                if added and all(any(_same_word(q, w) for q in query) for w in added):
                    said.add(child)
                    break
    return len(said) >= 2


#: A query that names alternatives: "lymphoblastic or lymphocytic", "with or without aura", "psoriasis
#: vulgaris and other psoriasis", "and/or"; not ICD-10-CM's "undetermined whether accidental or intentional",
#: which is one intent.
_ALTERNATIVES = re.compile(r"\b(?:(?<!accidental )or(?! intentional)|and other|and/or)\b", re.IGNORECASE)


_PLURAL = re.compile(r"\b[a-z]{4,}s\b")


def plurals(text: str, words: Container[str]) -> frozenset[str]:
    """The plural words of a text, those whose singular is in ``words``: "genital herpes infections" ->
    {"infections"} ("herpes" is no plural)."""
    return frozenset(w for w in _PLURAL.findall(text.lower()) if _singular(w) != w and _singular(w) in words)


def says_plural(query: frozenset[str], titles: Callable[[int], frozenset[str]]) -> Callable[[int, int], bool]:
    """Whether a header says in the plural a word the query says in the plural, and its child does not."""
    def plural(child: int, up: int) -> bool:
        return bool(query & titles(up) - titles(child))
    return plural


def says_alternatives(text: str) -> bool:
    """Whether a query names alternatives (:data:`_ALTERNATIVES`)."""
    return bool(_ALTERNATIVES.search(text))


def prefer_specific(ranked: Sequence[int], query: frozenset[str], words: Callable[[int], frozenset[str]],
                    qualifiers: Callable[[int], frozenset[str]], billable: Callable[[int], bool],
                    end: Callable[[int], int], window: int = GENERAL_WINDOW,
                    parent: Callable[[int], int | None] | None = None, alternatives: bool = False,
                    synonyms: Callable[[int], Sequence[frozenset[str]]] | None = None,
                    plural: Callable[[int, int], bool] | None = None) -> list[int]:
    """Reorder code indices so that, among the first ``window``, a non-billable header is preceded by one of
    its descendants (also among them) that says a query word the header does not say, leaves out none that
    it says and asks no qualifier the query leaves out, or by a billable descendant with the header's very
    wording: "contusion of unspecified shoulder" is S40.019 "Contusion of unspecified shoulder", not S40.01
    "Contusion of shoulder"; "personal history of other specified conditions" is Z87.898, not Z87.8 of the
    same title; "coma scale, best verbal response, confused" stays R40.22, R40.224 adding "conversation".
    The mirror of :func:`prefer_header`, which climbs when the query says none of what a code adds.
    ``words(i)``: every token of code i's description, as prefer_header's; ``qualifiers(i)``: its tokens
    less the words that ask nothing (:meth:`LexicalIndex.qualifiers`); ``end(i)``: one past the index of
    code i's last descendant. Of several such descendants the one saying the most query words comes first,
    then the one of fewer words (S40.019 before S40.019A "..., initial encounter"), then the better ranked.
    With ``plural`` (:func:`says_plural`), a descendant that leaves out a plural the query and the header say
    does not go first."""
    top = list(ranked[:window])

    @functools.cache
    def said(i: int) -> frozenset[str]:
        return frozenset(q for q in query if any(_same_word(q, w) for w in words(i)))

    def pick(index: int, placed: set[int]) -> int:
        if billable(index) or (alternatives and parent is not None
                               and _names_alternatives(index, query, words, parent, end, synonyms)):
            return index  # a header of alternatives the query names stays (prefer_header's climb)
        own = said(index)
        fits = []
        for j in top:
            if j in placed or not index < j < end(index) or (plural is not None and plural(j, index)):
                continue  # a descendant that does not say the query's plural its header says stays below
            says = said(j)
            asks = [w for w in qualifiers(j) - qualifiers(index) if not any(_same_word(w, q) for q in query)]
            if own <= says and not asks and (len(says) > len(own) or (words(j) == words(index) and billable(j))):
                fits.append((-len(says), len(words(j)), top.index(j), j))
        return min(fits)[-1] if fits else index

    return _lead(ranked, window, pick)


#: Words of which a code saying one contradicts a query saying the other (and not the first). Sides,
#: encounters, intent, displacement and open/closed are :func:`steer`'s and the other rules' to weigh;
#: "congenital"/"acquired" is :func:`prefer_unrestricted`'s. A status code ("Bariatric surgery status",
#: "Presence of cardiac pacemaker") records a device or procedure without a complication (ICD-10-CM's
#: guidelines: no status code where a complication is coded), so it is the opposite of a "complication".
OPPOSITES = (("male", "female"), ("acute", "chronic"), ("benign", "malignant"), ("primary", "secondary"),
             ("essential", "secondary"), ("upper", "lower"), ("anterior", "posterior"), ("superior", "inferior"),
             ("proximal", "distal"), ("internal", "external"), ("superficial", "deep"), ("partial", "complete"),
             ("incomplete", "complete"), ("complication", "status"), ("complications", "status"),
             ("complication", "presence"), ("complications", "presence"), ("limb:upper", "limb:lower"))
_OPPOSITE_OF = {w: frozenset(b if w == a else a for a, b in OPPOSITES if w in (a, b))
                for pair in OPPOSITES for w in pair}
#: Whole words, a hyphenated one as one word: "non-malignant" does not say "malignant".
_PLAIN_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")


#: ICD-10-CM's words for the ends of a long bone, and what clinicians call them: "Fracture of lower end of
#: radius" is a distal radius fracture, "upper end of humerus" the proximal humerus ("lower leg" and "upper
#: arm" are not ends, so the whole phrase is read).
_BONE_END = (("lower end", "distal"), ("upper end", "proximal"))
#: Which limb a text names, in ICD-10-CM's words or a clinician's: a leg is a lower extremity, so that "chronic
#: DVT right leg" is not I82.721 "... of deep veins of right upper extremity".
_LIMB = ((re.compile(r"\b(?:upper (?:extremit|limb)|arms?\b|forearms?\b)"), "limb:upper"),
         (re.compile(r"\b(?:lower (?:extremit|limb)|legs?\b|thighs?\b|calf\b|calves\b)"), "limb:lower"))


#: A clause that says something is absent ("without foreign body", "w/o complications", "no loss of
#: consciousness", ICD-10-CM's "not including thumb", a clinician's "but not the thumb") or present ("with
#: foreign body", "including thumb"), up to the next clause, comma or semicolon.
_ABSENT = re.compile(r"\b(?:without|w/o|with no|no|not including|excluding|except|but not)\b\s+([^,;]*?)"
                     r"(?=\s*(?:\bwith\b|\bwithout\b|\bincluding\b|[,;]|$))")
_PRESENT = re.compile(r"\b(?:with|including)\b\s+([^,;]*?)(?=\s*(?:\bwith\b|\bwithout\b|\bincluding\b|[,;]|$))")
#: Words that a with / without clause says without naming what is there or not.
_CLAUSE_FILLER = frozenset({"a", "an", "the", "of", "and", "or", "in", "to", "by", "for", "on", "at", "any", "other",
                            "unspecified", "specified", "retained", "associated"})
_WITH, _WITHOUT = "with:", "without:"


#: ICD-10-CM's four intents of an injury, poisoning or toxic effect, and the legal intervention of its
#: external causes, in its words and in a clinician's; a
#: text that says one reads ``intent:<name>`` too, and two different intents are opposites. An undetermined
#: intent is said in words that name the others ("unclear whether accidental or deliberate"), so it is read
#: first and alone; a text naming two others names none.
_INTENT = "intent:"
_INTENTS = (
    ("undetermined", re.compile(r"\bundetermined\b|\bintent(?:ion)?(?: is| was)? (?:unknown|unclear|uncertain|"
                                r"not (?:known|determined|established|clear))|\b(?:unknown|unclear|uncertain) intent|"
                                r"\b(?:not known|unclear|uncertain|unsure) (?:if|whether)\b")),
    ("accidental", re.compile(r"\baccident(?:al|ally)?\b|\bunintentional(?:ly)?\b")),
    ("intentional", re.compile(r"\bintentional(?:ly)?\b|\bdeliberate(?:ly)?\b|\bon purpose\b|"
                               r"\bself[- ]?(?:harm|inflicted|poisoning)|\bsuicid")),
    ("assault", re.compile(r"\bassault|\binflicted by (?:another|someone|somebody)|\bhomicid|"
                           r"\bby (?:another person|someone else|somebody else|another individual)\b")),
    # chapter 20's legal intervention (Y35), whose injuries are neither accidents nor assaults
    ("legal intervention", re.compile(r"\blegal intervention\b|\bpolice\b|\blaw enforcement\b")),
)


#: The first letters of chapter 20's codes (external causes of morbidity, V00-Y99), whose intents are
#: categories of their own (Y29, Y00, X79), where a poisoning's are siblings (T43.591, T43.592).
_EXTERNAL_CAUSES = frozenset("VWXY")


def intent_said(lowered: str) -> str:
    """Which of ICD-10-CM's intents a lower-case text says, or "" (:data:`_INTENTS`)."""
    said = [name for name, pattern in _INTENTS if pattern.search(lowered)]
    if said[:1] == ["undetermined"]:
        return "undetermined"
    return said[0] if len(said) == 1 else ""


#: ICD-10-CM's own words for each intent, as its titles write them.
_INTENT_TITLE_WORDS = {"undetermined": "undetermined", "accidental": "accidental unintentional",
                       "intentional": "intentional self-harm", "assault": "assault",
                       "legal intervention": "legal intervention"}


def intent_words(text: str) -> str:
    """ICD-10-CM's words for the intent a text says in its own ("intent unknown": "undetermined"), or "": so
    that T59.6X4 "Toxic effect of hydrogen sulfide, undetermined" asks nothing of "... hydrogen sulfide,
    intent unknown" that its header T59.6 does not."""
    intent = intent_said(fold(text).lower())
    return _INTENT_TITLE_WORDS[intent] if intent else ""


def _clause_words(prefix: str, clause: str) -> list[str]:
    """``prefix`` and each word a with / without clause names, a plural as its singular."""
    return [prefix + _singular(w) for w in _PLAIN_WORD.findall(clause) if w not in _CLAUSE_FILLER]


def plain_words(text: str) -> frozenset[str]:
    """The text's lower-case words, accents off, a hyphenated word whole (for :func:`prefer_consistent`);
    "lower end" and "upper end" also say "distal" and "proximal" (:data:`_BONE_END`); an arm or a leg says
    ``limb:upper`` or ``limb:lower`` (:data:`_LIMB`); and each word of a
    "with ..." clause also reads ``with:word``, of a "without ..." or "no ..." clause ``without:word``, so
    that "no foreign body" and "with foreign body" are opposites; a text that says an intent reads
    ``intent:<name>`` (:func:`intent_said`)."""
    lowered = fold(text).lower()
    words = _PLAIN_WORD.findall(lowered)
    absent = [w for m in _ABSENT.finditer(lowered) for w in _clause_words(_WITHOUT, m.group(1))]
    rest = _ABSENT.sub(" ", lowered)
    present = [w for m in _PRESENT.finditer(rest) for w in _clause_words(_WITH, m.group(1))]
    intent = intent_said(lowered)
    return frozenset([*words, *(word for phrase, word in _BONE_END if phrase in lowered),
                      *(word for pattern, word in _LIMB if pattern.search(lowered)), *absent, *present,
                      *([_INTENT + intent] if intent else [])])


def _opposite_of(word: str) -> frozenset[str]:
    """The words that say the opposite of ``word``: :data:`OPPOSITES`, a with / without clause's word, or
    the other three intents (:func:`plain_words`)."""
    if word.startswith(_WITHOUT):
        return frozenset({_WITH + word[len(_WITHOUT):]})
    if word.startswith(_WITH):
        return frozenset({_WITHOUT + word[len(_WITH):]})
    if word.startswith(_INTENT):
        return frozenset(_INTENT + name for name, _ in _INTENTS if _INTENT + name != word)
    return _OPPOSITE_OF.get(word, frozenset())


def contradicted(query: frozenset[str], words: frozenset[str]) -> frozenset[str]:
    """The query words of which a code of ``words`` says the opposite and not the word itself, the query
    not saying that opposite too (both :func:`plain_words`)."""
    return frozenset(w for w in query if w not in words and (_opposite_of(w) & words) - query)


def contradicts(query: frozenset[str], words: frozenset[str]) -> bool:
    """Whether a code of ``words`` says the opposite of a query word (:func:`contradicted`)."""
    return bool(contradicted(query, words))


def prefer_consistent(ranked: Sequence[int], query: frozenset[str], words: Callable[[int], frozenset[str]],
                      window: int = GENERAL_WINDOW, code: Callable[[int], str] | None = None) -> list[int]:
    """Reorder code indices so that, among the first ``window``, a code whose description says the
    opposite of a query word (:data:`OPPOSITES`) is preceded by the best-ranked code there that says that
    word and the opposite of none: "congenital anomalies of female genitals" is a Q52 code, not Q55 "Other
    congenital malformations of male genital organs"; "secondary high blood pressure" is I15, not I10 "Essential
    (primary) hypertension", whose inclusion term says "high blood pressure"; "vocal cord puncture wound, no
    foreign body" is S11.033 "Puncture wound without foreign body of vocal cord", not S11.034 "... with
    foreign body"; "deliberate overdose of other antipsychotics" is T43.592 "..., intentional self-harm", not
    T43.591 "..., accidental (unintentional)". ``query`` and ``words(i)``: :func:`plain_words` of the query
    and of code i's description. With ``code(i)``, a code of the wrong intent gives way only to a code of its
    own category, where ICD-10-CM keeps a poisoning's intents, or, for an external cause (chapter 20, whose
    intents are categories of their own: Y29, Y00, X79), to another external cause; so "ibuprofen overdose,
    intent unknown" stays in T39, not another drug's undetermined code. Past the window nothing moves."""
    if not any(_opposite_of(w) for w in query):
        return list(ranked)
    top = list(ranked[:window])
    clash = {i: contradicted(query, words(i)) for i in top}

    def kin(index: int, other: int) -> bool:
        if code is None or not any(w.startswith(_INTENT) for w in clash[index]):
            return True
        a, b = code(index), code(other)
        return a[:3] == b[:3] or (a[0] in _EXTERNAL_CAUSES and b[0] in _EXTERNAL_CAUSES)

    def pick(index: int, placed: set[int]) -> int:
        if not clash[index]:
            return index
        return next((j for j in top if j not in placed and not clash[j] and clash[index] <= words(j)
                     and kin(index, j)), index)

    return _lead(ranked, window, pick)


#: ICD-10-CM's "not elsewhere classified" in a query's words: the residual "other (specified)" codes
#: (guideline I.A.9.a: NEC "represents other specified").
_NEC = re.compile(r"\b(?:NEC|not (?:elsewhere classified|classified (?:elsewhere|above)))\b", re.IGNORECASE)


def says_nec(text: str) -> bool:
    """Whether a query says "NEC" / "not elsewhere classified" (:data:`_NEC`)."""
    return bool(_NEC.search(text))


def prefer_other(ranked: Sequence[int], query: frozenset[str], words: Callable[[int], frozenset[str]],
                 window: int = GENERAL_WINDOW // 2, nec: bool = False) -> list[int]:
    """A query that says "other" names ICD-10-CM's residual code of a group, which says "other": a first answer
    that does not say it gives way to the best-ranked code among the first ``window`` that does and says every
    query word the first answer says. "other emotional disorders with onset in childhood" is F98 "Other
    behavioral and emotional disorders with onset usually occurring in childhood and adolescence", not F93
    "Emotional disorders with onset specific to childhood". ``words(i)``: every token of code i's description.
    With ``nec`` (the query says "NEC": :func:`says_nec`) a code that says "not elsewhere classified" is
    residual too, and the query asks for one even without "other": "necrotizing vasculopathies not classified
    above" is M31 "Other necrotizing vasculopathies", not M31.9 "Necrotizing vasculopathy, unspecified"."""
    def residual(i: int) -> bool:
        return "other" in words(i) or (nec and any(_same_word(w, "elsewhere") for w in words(i)))

    if not ranked or not ("other" in query or nec) or residual(ranked[0]):
        return list(ranked)

    def said(i: int) -> frozenset[str]:
        return frozenset(q for q in query if any(_same_word(q, w) for w in words(i)))

    first = said(ranked[0])
    for place in range(1, min(window, len(ranked))):
        rival = ranked[place]
        if residual(rival) and first <= said(rival):
            return [rival, *ranked[:place], *ranked[place + 1:]]
    return list(ranked)


def says_exactly(query: frozenset[str], qualifiers: Callable[[int], frozenset[str]]) -> Callable[[int], bool]:
    """Whether code i's qualifiers say the query's words, no more and no less (as :func:`prefer_exact`)."""
    return lambda i: _covers(query, qualifiers(i)) and _covers(qualifiers(i), query)


def says_exactly_any(query: frozenset[str], wordings: Callable[[int], Sequence[frozenset[str]]]) -> Callable[[int], bool]:
    """Whether one of code i's wordings (qualifier sets) says the query's words, no more and no less."""
    return lambda i: any(_covers(query, w) and _covers(w, query) for w in wordings(i))


#: A fracture whose cause is a disease, not an injury: ICD-10-CM's index codes a fracture NOS as traumatic
#: ("Fracture, traumatic"), a pathological or stress one only when the record says so.
_NONTRAUMATIC_FRACTURE = re.compile(r"\b(?:pathological|stress|fatigue|insufficiency|fragility) fracture\b|"
                                    r"\bwith current pathological fracture\b", re.IGNORECASE)
_FRACTURE_CAUSE_QUERY = re.compile(r"\b(?:patholog|stress|fatigue|march|insufficien|fragility|osteopor|neoplas|"
                                   r"tumou?r|cancer|malignan|metasta|disease)", re.IGNORECASE)


#: A dislocation that is not an injury: ICD-10-CM's index codes a dislocation NOS of a joint as an injury
#: ("Dislocation, shoulder S43.006"), a recurrent, pathological or developmental one only when said so.
_NONTRAUMATIC_DISLOCATION = re.compile(r"\b(?:recurrent|pathological|habitual|developmental|congenital|paralytic|"
                                       r"old)\b", re.IGNORECASE)
_DISLOCATION_CAUSE_QUERY = re.compile(r"\b(?:recurr|patholog|habitual|developmental|congenit|paralytic|old\b|"
                                      r"chronic|repeat|again|lax|disease|dysplas)", re.IGNORECASE)
#: (what the query says, what an injury code's description says, what a code of another cause says, what
#: in a query names a cause)
_INJURIES = (
    (re.compile(r"\bfractur", re.IGNORECASE), re.compile(r"\bfracture", re.IGNORECASE), _NONTRAUMATIC_FRACTURE,
     _FRACTURE_CAUSE_QUERY),
    (re.compile(r"\b(?:dislocat|sublux)", re.IGNORECASE), re.compile(r"\b(?:dislocation|subluxation)", re.IGNORECASE),
     _NONTRAUMATIC_DISLOCATION, _DISLOCATION_CAUSE_QUERY),
)


def prefer_traumatic_fracture(ranked: Sequence[int], text: str, description: Callable[[int], str],
                              window: int = GENERAL_WINDOW,
                              deep: tuple[Callable[[int], Sequence[frozenset[str]]], frozenset[str]] | None = None,
                              ) -> list[int]:
    """A query that says "fracture" and no cause ("broken right ankle" once expanded) is answered first by
    the best-ranked injury fracture among the first ``window`` codes, ahead of the pathological or stress
    fractures and the codes that say no fracture at all ranked above it ("Pathological fracture, right
    ankle", "Crushing injury of left little finger"), unless it leaves out the query's site ("fractured ankle"
    is not S92 "Fracture of foot and toe, except ankle"); a query naming a cause keeps the ranking. A
    dislocation likewise: "dislocated shoulder" is S43.006A, not M24.419 "Recurrent dislocation,
    unspecified shoulder", and "dislocated lens" stays H27.10, the first code saying a dislocation of no
    other cause.

    With ``deep`` = (wordings, the query's words), where no injury code is among the first ``window``, one
    from further down is taken if one of its wordings (``wordings(i)``: its description's words, its
    synonyms') names the site the query and the first code share: "broken right ankle" has about 40
    pathological and stress fractures of ankles first, then S82.89 "Other fractures of lower leg" by its
    inclusion term "Fracture of ankle NOS" (ICD-10-CM's index: "Fracture, traumatic, ankle"); not S92.901
    "Unspecified fracture of right foot", ranked above S82.89, which names no ankle."""
    for query, says, other_cause, cause in _INJURIES:
        if not query.search(text) or cause.search(text):
            continue
        for place, index in enumerate(ranked[:window]):
            words = description(index)
            if says.search(words) and not other_cause.search(words) and not _excepts(words, text):
                return [index, *ranked[:place], *ranked[place + 1:]] if place else list(ranked)
        if deep is not None and ranked:
            wordings, query_words = deep
            site = {w for w in query_words & frozenset().union(*wordings(ranked[0]))
                    if not w.startswith(_NOT_SITE)}
            for place in range(window, len(ranked) if site else 0):
                index = ranked[place]
                words = description(index)
                if (says.search(words) and not other_cause.search(words) and not _excepts(words, text)
                        and any(site <= wording for wording in wordings(index))):
                    return [index, *ranked[:place], *ranked[place + 1:]]
        break
    return list(ranked)


#: ICD-10-CM's modes of transport in a land transport accident (V00-V79), as its titles, data/abbreviations.csv's
#: expansions and people write them, with the digit each has in a category: the injured person's as its
#: first digit (V0- pedestrian ... V7- bus occupant), the other party's as its second (V-3 "in collision
#: with car, pick-up truck or van"). Longer names first: "pick-up truck" is no "truck", "motor vehicle" no
#: mode at all. "truck" and "lorry" alone are heavy transport vehicles (ICD-10-CM says "pick-up truck").
_MODES = (
    (r"three-wheeled motor vehicles?", 3, 2), (r"pick-?up(?: trucks?)?|vans?|minivans?", 5, 3),
    (r"heavy transport vehicles?|heavy goods vehicles?|semi[- ]?trucks?|big rigs?|tractor[- ]trailers?|"
     r"18[- ]wheelers?|trucks?|lorr(?:y|ies)", 6, 4),
    (r"motor vehicles?|vehicles?", None, None), (r"pedal cycl\w*|(?:bi)?cyclists?|bicycl\w*", 1, 1),
    (r"motorcycl\w*|motorbikes?|motor scooters?|mopeds?", 2, 2), (r"buse?s|bus|coach(?:es)?", 7, 4),
    (r"cars?|automobiles?", 4, 3), (r"pedestrians?|persons? on foot", 0, 0), (r"animals?", None, 0),
    (r"railway trains?|trains?", None, 5), (r"streetcars?|trams?|animal-drawn vehicles?", None, 6),
    (r"fixed or stationary objects?|stationary objects?|trees?|poles?|walls?", None, 7),
)
_MODE = re.compile("|".join(f"(?P<m{n}>\\b(?:{pattern})\\b)" for n, (pattern, _, _) in enumerate(_MODES)),
                   re.IGNORECASE)
#: Where a text turns from the injured person to the other party.
_COLLISION = re.compile(r"\b(?:in (?:a )?)?(?:collision|collided|colliding|crash(?:ed)?|crashing)\s+(?:with|into)\b",
                        re.IGNORECASE)
#: The other party hit by an occupant's vehicle ("bus occupant hurt when bus hit a cyclist"), read only when
#: the text names an occupant, so that "car hit a pedestrian" is not read as a car occupant's injury.
_STRUCK = re.compile(r"\b(?:hit|struck|ran into|rammed)\b", re.IGNORECASE)
_OCCUPANT = re.compile(r"\b(?:occupants?|drivers?|passengers?|riders?)\b", re.IGNORECASE)


def _mode(text: str) -> tuple[int | None, int | None] | None:
    """(first digit, second digit) of the first mode of transport ``text`` names, or None."""
    found = _MODE.search(text)
    if found is None:
        return None
    return _MODES[int(found.lastgroup[1:])][1:]  # type: ignore[index]


def collision_category(text: str) -> str | None:
    """The category of a land transport collision that ``text`` names with both parties: "pedestrian injured
    in collision with car" (:func:`icdsearch.shorthand.collision_reading` writes "pedestrian hit by car" so)
    is V03, "bus occupant injured in collision with pedal cycle" V71, "occupant of a lorry injured colliding
    with a bus" V64. None where a party is missing or names no one mode ("motor vehicle")."""
    turn = _COLLISION.search(text)
    if turn is None and _OCCUPANT.search(text):
        turn = _STRUCK.search(text, _OCCUPANT.search(text).end())  # type: ignore[union-attr]
    if turn is None:
        return None
    injured, other = _mode(text[: turn.start()]), _mode(text[turn.end():])
    if injured is None or other is None or injured[0] is None:
        return None
    victim, party = injured[0], other[1]
    if party is None or (victim == 0 and party == 0):
        return None
    if victim == 0:  # a pedestrian's categories have no digit for a fixed object, and none for an animal
        return f"V0{party}" if 1 <= party <= 6 else None
    return f"V{victim}{party}"


def prefer_collision(ranked: Sequence[int], category: str | None, code: Callable[[int], str],
                     position: Callable[[str], int | None] = lambda c: None) -> list[int]:
    """The codes of ``category`` (:func:`collision_category`) that are ranked, ahead of the rest, in their
    order: a bag of words cannot tell V03 "Pedestrian injured in collision with car, pick-up truck or van"
    from V40 "Car occupant injured in collision with pedestrian", nor could the model. Where none of its
    codes is ranked, the category itself (``position(category)``, its index) comes first: "truck occupant
    injured in a crash with another truck or a bus" ranks bus occupants' codes (V73) and no V64 code.
    Nothing moves where the query names no such collision."""
    if category is None:
        return list(ranked)
    first = [i for i in ranked if code(i).startswith(category)]
    if not first:
        header = position(category)
        return [header, *ranked] if header is not None else list(ranked)
    return [*first, *(i for i in ranked if not code(i).startswith(category))]


def _excepts(description: str, text: str) -> bool:
    """Whether the description leaves out a site the query names ("fractured ankle": S92 "Fracture of foot and
    toe, except ankle")."""
    found = _EXCEPT.search(description)
    return bool(found) and any(re.search(rf"\b{re.escape(word[:5])}", text, re.IGNORECASE)
                               for word in found.group(1).split() if len(word) > 3)


_EXCEPT = re.compile(r"\bexcept\s+([a-z ]+)", re.IGNORECASE)
#: Word stems that name no site of an injury: the injury, a side, an encounter.
_NOT_SITE = ("fractur", "broke", "disloc", "sublux", "right", "left", "bilater", "unspecifi", "initi", "encount",
             "subsequ", "sequela")


#: Whom a code is for, where its wording says so and a query may not: ICD-10-CM's chapter 16 (P codes) is
#: for newborn records only and chapter 15 (O codes) for maternal records only (Official Guidelines
#: I.C.15, I.C.16), and "congenital" names a condition present from birth. Word stems as
#: :meth:`LexicalIndex.query_words` makes them.
_GROUP_STEMS = {"newborn": ("newborn", "neonat", "perinat"),
                "maternal": ("pregnan", "puerper", "childbirth", "obstetr", "gestat", "postpartum", "antepartum",
                             "intrapartum", "matern"),
                "congenital": ("congenit",)}
_CHAPTER_GROUP = {"P": "newborn", "O": "maternal"}
#: A query that names the group (after abbreviations are expanded: "pp" -> "postpartum").
_GROUP_QUERY = {
    "newborn": re.compile(r"\b(newborn|neo-?nat|perinat|infant|bab(y|ies)|fetus|fetal|foetal|prematur|pre-?term|"
                          r"born|birth|nicu)", re.IGNORECASE),
    "maternal": re.compile(r"\b(pregnan|puerper|childbirth|obstetric|gestation|post-?partum|ante-?partum|intrapartum|"
                           r"maternal|trimester|pre-?natal|ante-?natal|labou?r\b|deliver|ectopic|miscarr|abortion|"
                           r"eclamp|hyperemesis|lactat|breast-?feed|placent|cesarean|caesarean|c-section|gravid)",
                           re.IGNORECASE),
    "congenital": re.compile(r"\b(congenital|birth defect|since birth|born with|inborn|heredit|inherit|genetic|"
                             r"familial)", re.IGNORECASE),
}
#: A rival of a congenital code that says "acquired" is the other half of the same choice, not a code
#: that asks nothing ("clubfoot": Q66.89's "Congenital clubfoot NOS" or M21.54- "Acquired clubfoot").
_OPPOSITE = {"congenital": ("acquir",)}


def population_intent(text: str) -> frozenset[str]:
    """The groups (newborn, maternal, congenital) a query names."""
    return frozenset(group for group, pattern in _GROUP_QUERY.items() if pattern.search(text))


def _says(words: frozenset[str], stems: Sequence[str]) -> bool:
    return any(w.startswith(stems) for w in words)


def code_groups(index: int, query: frozenset[str], code: Callable[[int], str],
                wordings: Callable[[int], Sequence[frozenset[str]]]) -> frozenset[str]:
    """The groups code ``index`` is for: its chapter's (P, O), and a group whose words are in each of its
    wordings that says the most of the query (``wordings(i)``: the tokens of its description and of its
    other wordings): Q43.8 "Other specified congenital malformations of intestine" is congenital for
    "diverticulitis" because the wording that says it is "Congenital diverticulitis, colon"."""
    found = {_CHAPTER_GROUP[code(index)[0]]} if code(index)[0] in _CHAPTER_GROUP else set()
    options = [w for w in wordings(index) if w]
    if options:
        said = [sum(1 for q in query if q in w or any(_same_word(q, o) for o in w)) for w in options]
        best = [w for w, n in zip(options, said) if n == max(said)]
        found |= {group for group, stems in _GROUP_STEMS.items() if all(_says(w, stems) for w in best)}
    return frozenset(found)


def prefer_unrestricted(ranked: Sequence[int], named: frozenset[str], query: frozenset[str],
                        code: Callable[[int], str], wordings: Callable[[int], Sequence[frozenset[str]]],
                        window: int = GENERAL_WINDOW) -> list[int]:
    """A first answer that is for a group the query does not name (a newborn's, a pregnancy's, a congenital
    condition's) gives way to the best-ranked code among the first ``window`` that is for no group but
    those the query names and has a wording that says every query word, unless each such wording is the
    other half of the choice ("acquired"; a nonessential "(acquired)" leaves a wording without it).
    "skin infection" is L08.9 "Local infection of the skin and subcutaneous tissue, unspecified", not P39.4
    "Neonatal skin infection"; "diverticulitis" a K57 code, not Q43.8's "Congenital diverticulitis, colon";
    "scoliosis" M41.9, not Q67.5's "Congenital scoliosis NOS"; "diabetes in pregnancy" an O24 code, not
    P70.1 "Newborn affected by maternal diabetes mellitus". A query with no such rival keeps its answer
    ("transient tachypnea" is still P22.1 "Transient tachypnea of newborn": R06.82 "Tachypnea, not
    elsewhere classified" does not say "transient"). ``named``: :func:`population_intent` of the query;
    ``query``: its tokens; ``wordings(i)``: the tokens of code i's description and other wordings."""
    if not ranked or not query:
        return list(ranked)
    lead = ranked[0]
    groups = code_groups(lead, query, code, wordings) - named
    if not groups:
        return list(ranked)
    opposite = tuple(stem for group in groups for stem in _OPPOSITE.get(group, ()))
    for place in range(1, min(window, len(ranked))):
        rival = ranked[place]
        if code_groups(rival, query, code, wordings) - named:
            continue
        # A code of the chapter for the group the query names says that group's words by being there:
        # O45.9 "Premature separation of placenta, unspecified" says "placental abruption in pregnancy".
        chapter = _CHAPTER_GROUP.get(code(rival)[0], "")
        need = (frozenset(w for w in query if not w.startswith(_GROUP_STEMS[chapter])) if chapter in named
                else query)
        saying = [w for w in wordings(rival) if w and _covers(need, w)]
        if saying and not (opposite and all(_says(w, opposite) for w in saying)):
            return [rival, *ranked[:place], *ranked[place + 1:]]
    return list(ranked)


#: A query about the past ("history of", "hx of" once expanded, "past medical history"), and whose.
_HISTORY_QUERY = re.compile(r"\bhistory\b|\bpast medical\b")
_FAMILY_QUERY = re.compile(r"\bfamily (medical )?history\b")
#: Codes that record a history rather than a present condition: "Personal history of ...", "History of
#: falling", "Old myocardial infarction" (where ICD-10-CM's index sends "History, personal, myocardial
#: infarction"); and "Family history of ...".
_PERSONAL_CODE = re.compile(r"^(history of|old) |\bpersonal history of\b", re.IGNORECASE)
_FAMILY_CODE = re.compile(r"\bfamily history of\b", re.IGNORECASE)


def history_intent(text: str) -> str:
    """"family" when the query asks for a family history, "personal" for any other history, else ""."""
    low = text.lower()
    if _FAMILY_QUERY.search(low):
        return "family"
    return "personal" if _HISTORY_QUERY.search(low) else ""


def prefer_history(ranked: Sequence[int], intent: str, description: Callable[[int], str],
                   window: int = GENERAL_WINDOW) -> list[int]:
    """A query about a history is answered by codes that record one: "hx of breast cancer" is Z85.3
    "Personal history of malignant neoplasm of breast", not a C50 code of the present cancer; "h/o DVT" is
    Z86.718. With such an intent, the codes among the first ``window`` that record that kind of history
    come first, in their own order; those recording the other kind (a family's history for "history of
    asthma") go to the end of the window; the rest keep their order between. Only codes the ranking already
    found close may move: "hx of HTN" stays I10, as a coder codes a chronic condition that a note calls
    history (no history code of hypertension ranks that high, only "other diseases of the circulatory
    system")."""
    if not intent:
        return list(ranked)
    wanted, other = (_FAMILY_CODE, _PERSONAL_CODE) if intent == "family" else (_PERSONAL_CODE, _FAMILY_CODE)
    top = list(ranked[:window])
    first = [i for i in top if wanted.search(description(i))]
    last = [i for i in top if i not in first and other.search(description(i))]
    return first + [i for i in top if i not in first and i not in last] + last + list(ranked[window:])


def prefer_exact(ranked: Sequence[int], query: frozenset[str], qualifiers: Callable[[int], frozenset[str]],
                 window: int = GENERAL_WINDOW, title: Callable[[int], frozenset[str]] | None = None) -> list[int]:
    """Codes among the first ``window`` whose description says exactly what the query says, no more and
    no less (less the words that ask nothing: "unspecified", a "without ..." clause, the encounter), come
    first, in their order: "depression" is F32.A "Depression, unspecified", not F34.1 "Dysthymic disorder"
    that an inclusion term ("Neurotic depression") ranked higher. Across categories, unlike
    :func:`prefer_general`, because an exact description is what a coder looks for in the index. With
    ``title`` (the qualifiers of a code's own description), a code whose title says exactly the query goes
    before one that says it through another wording only: "syphilis" is A53.9 "Syphilis, unspecified", not
    A52.3 "Neurosyphilis, unspecified", whose inclusion term reaches its synonym as "Syphilis (late)"."""
    if not query:
        return list(ranked)
    says = says_exactly(query, qualifiers)
    exact = [i for i in ranked[:window] if says(i)]
    if not exact:
        return list(ranked)
    if title is not None:  # a title that says it before an inclusion term that does
        titled = says_exactly(query, title)
        exact = sorted(exact, key=lambda i: not titled(i))
    chosen = set(exact)
    return exact + [i for i in ranked if i not in chosen]


def exact_wording_qualifiers(ranked: Sequence[int], query: frozenset[str],
                             qualifiers: Callable[[int], frozenset[str]],
                             wordings: Callable[[int], Sequence[frozenset[str]]],
                             window: int = GENERAL_WINDOW) -> Callable[[int], frozenset[str]]:
    """``qualifiers`` for :func:`prefer_exact` and :func:`prefer_general`, where a code among the first
    ``window`` that has another wording saying exactly what the query says counts as saying exactly that.
    ``wordings(i)``: the qualifiers of code i's other wordings, its synonyms (inclusion terms) and the
    readings of its title by :func:`wordings`. "plaque psoriasis" is L40.0 "Psoriasis vulgaris", whose inclusion term it is, not
    L40.9 "Psoriasis, unspecified", which asks nothing more than "psoriasis"; "syncope" is R55 "Syncope
    and collapse"."""
    if not query:
        return qualifiers
    exact = {i for i in ranked[:window]
             if any(_covers(query, words) and _covers(words, query) for words in wordings(i) if words)}
    return (lambda i: query if i in exact else qualifiers(i)) if exact else qualifiers


#: Two single words joined by "and", as a whole list at their place in the title: after its start, a comma
#: or a preposition, before its end, a comma or a preposition ("Syncope and collapse", "... of bronchus and
#: lung", "Drowning and submersion due to ..."). A word qualified by what comes before it is not a whole
#: conjunct ("Hypertensive heart and chronic kidney disease" joins "heart disease" and "chronic kidney
#: disease"), so it is left alone.
_AND_PAIR = re.compile(r"(?:^|(?<=, )|(?<=\bof )|(?<=\bin )|(?<=\bwith )|(?<=\bto )|(?<=\bby ))"
                       r"([\w'-]+) and ([\w'-]+)(?=,|$| (?:with|without|in|of|due|at|to|from|by|on)\b)", re.IGNORECASE)


#: ICD-10-CM's nonessential modifiers: words in parentheses may be present or absent without changing the code
#: (the Official Guidelines' punctuation conventions: "Fatty (change of) liver", "with (acute) exacerbation"). "(unintentional)" stays with its
#: "accidental", which :func:`qualifier_text` weighs on its own.
_NONESSENTIAL = re.compile(r"\s*\((?!unintentional\))[^()]*\)")
#: Brackets enclose a synonym or an alternative wording (the same conventions): of the word before them
#: ("navicular [scaphoid]", "herpesviral [herpes simplex]"), or, closing the title, of the whole title
#: ("Acute nasopharyngitis [common cold]", "Radial styloid tenosynovitis [de Quervain]").
_BRACKET = re.compile(r"([\w'-]+)\s*\[([^\[\]]+)\]")


def wordings(description: str) -> list[str]:
    """Other ways ICD-10-CM's own conventions read a title, each a whole title: without its nonessential
    modifiers, with a bracketed synonym in place of the word (or, at the end, the title) it stands for, or
    without it, and each of those by the "and/or" reading (:func:`and_variants`). The title itself is not
    among them."""
    texts = [description]
    if "(" in description:
        texts.append(" ".join(_NONESSENTIAL.sub("", description).split()))
    for text in list(texts):
        for match in _BRACKET.finditer(text):
            head, tail = text[: match.start()], text[match.end():]
            texts += [head + match.group(2) + tail, head + match.group(1) + tail]
            if not tail.strip(" ,"):
                texts.append(match.group(2))  # a closing bracket names the whole condition
    for text in list(texts):
        texts += and_variants(text)
    return [t for t in dict.fromkeys(texts) if t != description]


def synonym_wordings(description: str) -> list[str]:
    """The readings of a title by its bracketed synonyms alone (:func:`wordings` less the "and/or" readings,
    which say only part of a title): O45 "Premature separation of placenta [abruptio placentae]" is also
    "abruptio placentae", R07 "Pain in throat and chest" nothing else."""
    out = []
    for match in _BRACKET.finditer(description):
        head, tail = description[: match.start()], description[match.end():]
        out.append(head + match.group(2) + tail)
        if not tail.strip(" ,"):
            out.append(match.group(2))
    return out


def and_variants(description: str) -> list[str]:
    """The description with one of two words that "and" joins left out, for each such pair: in ICD-10-CM
    a title's "and" means "and/or" (the Official Guidelines' conventions), so "Syncope and collapse" is the code for syncope
    alone, "Malignant neoplasm of bronchus and lung" the code of a lung cancer."""
    out = []
    for match in _AND_PAIR.finditer(description):
        head, tail = description[: match.start()], description[match.end():]
        out += [head + match.group(2) + tail, head + match.group(1) + tail]
    return out


def _covers(words: frozenset[str], other: frozenset[str]) -> bool:
    return all(w in other or any(_same_word(w, o) for o in other) for w in words)


#: Stems of two words that ICD-10-CM uses for the same thing in different titles: an "incomplete" rotator
#: cuff tear (M75.11-) or spinal cord lesion is what clinicians call "partial", as its "partial traumatic
#: amputation" is; a "tumor" is a "neoplasm" (its Table of Neoplasms; data/abbreviations.csv writes a
#: query's "tumor" as "neoplasm", which C7A.022 "Malignant carcinoid tumor of the ascending colon" says).
#: "Lymphocytic" is "lymphoid" (the index: "Leukemia, lymphocytic - see Leukemia, lymphoid"): "lymphocytic
#: leukemia" is C91 "Lymphoid leukemia", not C91.1 "Chronic lymphocytic leukemia of B-cell type". "Tubal"
#: is the fallopian tube's adjective ("ovarian and tubal atrophy" is N83.33-, not N83.31- "... of ovary").
_SAME_STEMS = frozenset({frozenset({"partial", "incomplet"}), frozenset({"tumor", "neoplasm"}),
                         frozenset({"lymphocyt", "lymphoid"}), frozenset({"tubal", "fallopian"}),
                         frozenset({"tubal", "tube"})})
#: A number in digits and in Roman numerals, which ICD-10-CM writes either way ("class IV" edentulism,
#: "stage 4" pressure ulcer, "type II" Salter-Harris fracture) and people write the other way.
ROMAN = {"2": "ii", "3": "iii", "4": "iv"}
_NUMERALS = frozenset(frozenset(pair) for pair in ROMAN.items())
#: Stems of "-otic" words that name a drug class, not the state of the "-osis" word ("narcotics", "hypnotics").
_DRUG_CLASS_OTIC = ("narcot", "hypnot")


def _osis_otic(noun: str, adjective: str) -> bool:
    """Whether stems are a noun in "-osis" and its adjective in "-otic", or in "-asis" and "-atic":
    "psychosis" and "psychotic" (F14.159 "Cocaine abuse with cocaine-induced psychotic disorder, unspecified"
    says a "cocaine-induced psychosis"), "necrosis" and "necrotic", "psoriasis" and "psoriatic"."""
    return (len(noun) >= 7 and noun[-3:] in ("osi", "asi") and adjective == noun[:-2] + "t"
            and adjective not in _DRUG_CLASS_OTIC)


@functools.lru_cache(maxsize=1 << 16)  # the rules ask it of the same token pairs hundreds of times a query
def _same_word(a: str, b: str) -> bool:
    """Tokens that name the same thing: equal, or one a 4+ letter prefix of the other (the stemmer makes
    "accid" of "accident" but "accident" of "accidental"), unless the longer one goes on with a combining
    vowel and a word of its own ("mening" is not "meningococc", nor "encephal" "encephalomyel"). A letter-named
    token ("vitamin_a", :meth:`LexicalIndex.query_words`) is only itself."""
    if a == b:
        return True
    if frozenset((a, b)) in _NUMERALS:
        return True
    if min(len(a), len(b)) < 4 or "_" in a or "_" in b:
        return False
    if _osis_otic(a, b) or _osis_otic(b, a) or frozenset((a, b)) in _SAME_STEMS:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    rest = long_[len(short):]
    return long_.startswith(short) and not (rest.startswith("o") and len(rest) >= 3)


#: A header code with at most this many descendants may hand its place to one that fits the query better.
MAX_DESCENDANTS = 64


def steer(ranked: Sequence[int], intent: Intent, table: VariantTable, billable_first: bool = False,
          limit: int | None = None, says: Callable[[int], frozenset[str]] | None = None) -> list[int]:
    """Reorder code indices so each variant group is first answered by its best-fitting member.

    ``ranked`` is the fused ranking (best first). The first time a group appears, its slot goes to the
    member with the highest :func:`preference` (ties keep the ranked member, then its encounter), and the
    ranked member comes next; later members keep their own places. A non-billable header ("S93.4 Sprain of
    ankle") is preceded by its best-fitting billable descendant when the query names a side or an encounter,
    or always with ``billable_first``: one of its descendants among the ranked codes, or any descendant if
    it has at most MAX_DESCENDANTS. Other codes are untouched; past ``limit`` output codes, nothing moves.
    """
    out: list[int] = []
    placed: set[int] = set()
    rank = {index: r for r, index in enumerate(ranked)}
    for index in ranked:
        if limit is not None and len(out) >= limit:
            out += [i for i in ranked if i not in placed]
            break
        if index in placed:
            continue
        if not table.billable[index] and (billable_first or intent.side or intent.encounter):
            child = _best_descendant(index, intent, table, placed, rank, says)
            own = float(table.fit(intent, np.array([index]))[0])
            if child is not None and (billable_first or float(table.fit(intent, np.array([child]))[0]) > own):
                out.append(child)
                placed.add(child)
        g = int(table.group[index])
        if g >= 0:
            members = np.array([m for m in table.members(g).tolist() if m not in placed], dtype=np.int64)
            if len(members):
                # Unless the query says otherwise, stay with the ranked member's encounter suffix.
                score = table.fit(intent, members) + 0.25 * (table.suffix[members] == table.suffix[index])
                if table.suffixes[table.suffix[index]]:  # the ranked code has an encounter: which one?
                    score = score + _initial_default(intent, table, members) + _closed_default(intent, table, members)
                score = score + 0.01 * (members == index)
                best = int(members[int(np.argmax(score))])
                if best != index:
                    out.append(best)
                    placed.add(best)
        out.append(index)
        placed.add(index)
    return out


def _best_descendant(index: int, intent: Intent, table: VariantTable, placed: set[int],
                     rank: dict[int, int], says: Callable[[int], frozenset[str]] | None = None) -> int | None:
    """The billable descendant of a header that fits the query best; then, with ``says`` (a code's
    qualifiers), one that says no more than the header (its unspecified child: "Hodgkin lymphoma" gives its
    place to "Hodgkin lymphoma, unspecified, unspecified site", not to "..., in remission" that ranked
    higher); ties go to the better ranked one."""
    first, last = index + 1, int(table.end[index])
    if last - first <= MAX_DESCENDANTS:
        pool = np.arange(first, last)
    else:
        pool = np.array(sorted(i for i in rank if first <= i < last), dtype=np.int64)
    pool = np.array([i for i in pool.tolist() if table.billable[i] and i not in placed], dtype=np.int64)
    if not len(pool):
        return None
    order = np.array([rank.get(i, len(rank) + i) for i in pool.tolist()])
    score = (table.fit(intent, pool) + _initial_default(intent, table, pool) + _closed_default(intent, table, pool)
             - 1e-6 * order / (len(rank) + len(table.end)))
    if says is not None:
        own = says(index)
        score = score + SAYS_NO_MORE * np.array([says(i) == own for i in pool.tolist()])
    return int(pool[int(np.argmax(score))])


#: The edge of a header's descendant that says no more than the header: less than any side, encounter or
#: detail the query names, and than the initial-encounter default.
SAYS_NO_MORE = 0.2


#: With no encounter in the query, the initial encounter's edge among siblings: more than the 0.25 with which
#: steer keeps the ranked member's encounter, less than any side or encounter the query names.
INITIAL_DEFAULT = 0.3


def _initial_default(intent: Intent, table: VariantTable, indices: np.ndarray) -> np.ndarray:
    """A coder's default when the query names no encounter: the encounter for the injury itself ("dog bite
    right leg" is W54.0XXA, not the subsequent or sequela code that happened to rank first). Weighs only the
    choice among siblings, never whether a header gives way to a descendant."""
    if intent.encounter:
        return np.zeros(len(indices))
    return INITIAL_DEFAULT * _initial_suffixes(table.suffixes)[table.suffix[indices]]


@functools.lru_cache(maxsize=8)
def _initial_suffixes(suffixes: tuple[str, ...]) -> np.ndarray:
    return np.array([text.startswith("initial") for text in suffixes], dtype=float)


#: With neither "open" nor "closed" in the query, a closed fracture's edge among siblings ("A fracture not
#: indicated as open or closed should be coded to closed", guideline I.C.19.c.1): as much as the initial
#: encounter's, less than any detail the query names.
CLOSED_DEFAULT = 0.3


def _closed_default(intent: Intent, table: VariantTable, indices: np.ndarray) -> np.ndarray:
    if "open" in intent.details or "closed" in intent.details:
        return np.zeros(len(indices))
    return CLOSED_DEFAULT * _closed_suffixes(table.suffixes)[table.suffix[indices]]


@functools.lru_cache(maxsize=8)
def _closed_suffixes(suffixes: tuple[str, ...]) -> np.ndarray:
    return np.array(["closed fracture" in text for text in suffixes], dtype=float)
