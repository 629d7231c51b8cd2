"""Clinical abbreviations, shorthand and lay words: expand a query into the words ICD-10-CM uses.

The list is data/abbreviations.csv (its datasheet: data/DATASHEET.md). A term matches as a whole word,
in any letter case unless its row says ``CASE`` (then "PE" expands but "pe" does not); longer terms win
("w/o" before "w/", "a fib" before "af"). "T2DM w/o complications" becomes
"type 2 diabetes mellitus without complications". Beside it, data/icd_acronyms.csv holds the acronyms
ICD-10-CM itself spells out ("Intrauterine growth restriction (IUGR)"), mined by :func:`mine_acronyms`
(``scripts/mine_acronyms.py`` writes the file); a curated row wins over a mined one. :func:`read_as_icd`
then writes a few phrasings as ICD-10-CM titles them ("hit by car": "pedestrian injured in collision with
car"; "tripped and fell"; "32 weeks pregnant": its trimester; "bathroom at home": a residence's; "heroin
addiction": opioid dependence; "inflamed gallbladder": cholecystitis, from data/inflammations.csv), and
data/common_words.txt lists the English words the spelling step leaves alone (:func:`never_corrected`).
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import BadDataset

ABBREVIATIONS_PATH = Path(__file__).parent / "data" / "abbreviations.csv"
ACRONYMS_PATH = Path(__file__).parent / "data" / "icd_acronyms.csv"
COMMON_WORDS_PATH = Path(__file__).parent / "data" / "common_words.txt"
INFLAMMATIONS_PATH = Path(__file__).parent / "data" / "inflammations.csv"
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
        """``text`` with every listed term expanded. A text of several words in capitals alone ("HIT BY CAR",
        as some records are written) says nothing by its case: it is read in lower case, so that no term
        matched in capitals only ("HIT", "CAR") expands in it."""
        if self._pattern is None:
            return text
        if text.isupper() and len(text.split()) > 1:
            text = text.lower()
        return " ".join(self._pattern.sub(self._lookup, text).split())


#: What ICD-10-CM's transport accidents (V01-V79) name as the other party of a collision, in its words and
#: the ones an expansion leaves (data/abbreviations.csv turns "bicycle" into "pedal cycle", "SUV" into "sport
#: utility vehicle", ...); a plural too.
_VEHICLE = (r"(?:(?:motor |sport utility |heavy transport )?vehicle|car|automobile|auto|pick-?up(?: truck)?|van|"
            r"truck|lorry|bus|motorcycle|motorbike|pedal cycle|railway train|train|streetcar|tram)(?:e?s)?\b")
#: Who was hurt, said before "hit by": the injured person's mode of transport, or an occupant's role.
_VICTIM = re.compile(r"\b(?:pedestrian|cyclist|bicyclist|pedal cycl|rider|motorcycl|driver|passenger|occupant|"
                     r"car|automobile|van|truck|lorry|bus|train|streetcar|tram|vehicle|person on)", re.IGNORECASE)
#: "hit by a car", "struck by the bus", "run over by a truck", "knocked down by a car".
_HIT_BY = re.compile(rf"\b(?:(?:was|got|being|been) )?(?:hit|struck|run over|ran over|knocked (?:down|over)|mowed "
                     rf"down) by (?:a |an |the |another |other )?(?={_VEHICLE})", re.IGNORECASE)


def collision_reading(text: str) -> str:
    """Who hit whom as ICD-10-CM writes it: the injured person's mode of transport first, "injured in collision
    with" the other party. "pedestrian hit by car" is V03 "Pedestrian injured in collision with car, pick-up
    truck or van", not V40 "Car occupant injured in collision with pedestrian"; "cyclist struck by a bus" is
    V14. A person hit by a vehicle with no mode of transport said is a pedestrian (ICD-10-CM: "Pedestrian
    NOS"): "hit by a car" -> "pedestrian injured in collision with car". Anything else hit by something
    ("hit by a ball") is left alone."""
    match = _HIT_BY.search(text)
    if match is None:
        return text
    said = _VICTIM.search(text[: match.start()]) is not None
    return " ".join((text[: match.start()] + ("" if said else " pedestrian ") + " injured in collision with "
                     + text[match.end():]).split())


#: Falls as people tell them, in ICD-10-CM's words (W00-W19): a slip, trip or stumble that ended in a fall is
#: W01 "Fall on same level from slipping, tripping and stumbling" (not W18.4- "... without falling", nor a
#: "slipped" epiphysis); a slip or fall on ice or snow is W00 "Fall due to ice and snow" (not a skating
#: accident); and "fell" is "fall", the word of every fall's title.
_SLIP_FALL = re.compile(r"\b(?:slipped|tripped|stumbled|slipping|tripping|stumbling)\b"
                        r"(?:(?!\b(?:fell|falls?|falling|not|no|never|without)\b|n't)[^,;.]){0,40}?"
                        r"\b(?:fell|falls?|falling)\b", re.IGNORECASE)
_ON_ICE = re.compile(r"\b(?:slipped|slipping|fell|falls?|falling)\s+(?:on|in)\s+(?:the\s+|some\s+)?(?:ice|snow|icy\s+\w+)\b",
                     re.IGNORECASE)
_FELL = re.compile(r"\bfell\b", re.IGNORECASE)
#: ... and one that did not end in a fall is W18.4- "Slipping, tripping and stumbling without falling".
_SLIP_NO_FALL = re.compile(r"\b(?:slipped|tripped|stumbled|slipping|tripping|stumbling)\b(?:[^,;.]){0,40}?"
                           r"\b(?:did not|didn't|does not|doesn't|without|no|never)\s+(?:a\s+)?(?:fall|falls|falling)\b",
                           re.IGNORECASE)


def fall_reading(text: str) -> str:
    """A fall as ICD-10-CM titles it: "tripped and fell" -> "fall on same level from slipping, tripping and
    stumbling" (W01.0-), "tripped but did not fall" -> "slipping, tripping and stumbling without falling"
    (W18.4-), "slipped on ice" -> "fall due to ice and snow" (W00), "fell off a chair" -> "fall off a chair"."""
    text = _ON_ICE.sub("fall due to ice and snow", text)
    text = _SLIP_NO_FALL.sub("slipping, tripping and stumbling without falling", text)
    text = _SLIP_FALL.sub("fall on same level from slipping, tripping and stumbling", text)
    return _FELL.sub("fall", text)


#: Weeks of gestation, as a record gives them ("32 weeks", "32 wks", "32w"), in a text that names no trimester.
_WEEKS = re.compile(r"\b(\d{1,2})\s*(?:weeks?|wks?|w)\b(?!.*\btrimester\b)", re.IGNORECASE)
_TRIMESTER_WORD = re.compile(r"\btrimester\b", re.IGNORECASE)
#: A pregnancy named, and no newborn: a newborn's weeks are its gestational age (P07.3-), not a trimester.
_PREGNANCY = re.compile(r"\b(?:pregnan|gestation|labou?r\b|gravid|antepartum|ante-?natal|pre-?natal|(?:pre-?)?eclamp|"
                        r"miscarr|placent|hyperemesis)", re.IGNORECASE)
_NEWBORN = re.compile(r"\b(?:newborn|neonat|infant|baby|babies|born|premature)", re.IGNORECASE)


def trimester_reading(text: str) -> str:
    """A pregnancy's weeks with the trimester ICD-10-CM's chapter 15 counts them in (first: under 14 weeks;
    second: 14 to under 28; third: 28 until delivery), which its titles name and people rarely do: "preterm
    labor 32 weeks" -> "preterm labor 32 weeks, third trimester" (O60.03). Only a text that names a pregnancy
    and no newborn, and no trimester, with weeks up to 42."""
    found = _WEEKS.search(text)
    if (found is None or _TRIMESTER_WORD.search(text) or not 1 <= int(found.group(1)) <= 42
            or not _PREGNANCY.search(text) or _NEWBORN.search(text)):
        return text
    weeks = int(found.group(1))
    return f"{text}, {'first' if weeks < 14 else 'second' if weeks < 28 else 'third'} trimester"


#: A fracture of the hip, as people name it: ICD-10-CM's index sends it to the neck of the femur
#: ("Fracture, traumatic, hip - see Fracture, femur, neck"; S72.0-), which no title calls the hip.
_HIP_FRACTURE = re.compile(r"\b(?:fracture[sd]?|broken) (?:of )?(?:the )?(?P<a>(?:right|left|bilateral) )?hips?\b|"
                           r"\b(?P<b>(?:right|left|bilateral) )?hip fractures?\b", re.IGNORECASE)


#: A fracture of a named cause, whose codes do say "hip" (M84.459 "Pathological fracture, hip, unspecified",
#: M84.359 "Stress fracture, hip, ...", T84.04- "Periprosthetic fracture around internal prosthetic hip joint").
_FRACTURE_CAUSE = re.compile(r"\b(?:patholog|stress|fatigue|insufficiency|osteopor|neoplas|periprosthe|prosthe|"
                             r"due to)", re.IGNORECASE)


def hip_fracture_reading(text: str) -> str:
    """A fractured hip as ICD-10-CM's index reads it: "closed fracture of right hip" -> "closed fracture of
    neck of right femur" (S72.001A), not S72.91XA "Unspecified fracture of right femur". A fracture of a
    named cause keeps its "hip" (:data:`_FRACTURE_CAUSE`)."""
    if _FRACTURE_CAUSE.search(text):
        return text
    return _HIP_FRACTURE.sub(lambda m: f"fracture of neck of {m.group('a') or m.group('b') or ''}femur", text)


#: Substances by the class ICD-10-CM's chapter 5 codes their use in (F11-F16, F18): "heroin dependence" is
#: F11.2- "Opioid dependence", where the Table of Drugs' T40.1- "Poisoning by heroin" says the query's word.
_USE_CLASS = (
    ("opioid", r"heroin|fentanyl|morphine|methadone|codeine|hydrocodone|oxycodone|opium|opiates?|(?:other )?opioids|"
               r"painkillers?|pain pills?"),
    ("other stimulant", r"(?:crystal )?meth(?:amphetamines?)?|amphetamines?|speed"),
    ("cocaine", r"crack(?: cocaine)?"),
    ("cannabis", r"marijuana|marihuana|weed|pot|thc|hashish"),
    ("sedative, hypnotic or anxiolytic", r"benzodiazepines?|benzos?|barbiturates?|sedatives?|sleeping pills?|"
                                         r"tranquilli?zers?"),
    ("hallucinogen", r"lsd|psilocybin|magic mushrooms|shrooms|pcp|phencyclidine"),
    ("inhalant", r"glue|solvents?|inhalants?|huffing"),
)
#: A use disorder said (after data/abbreviations.csv wrote "addiction" as "dependence").
_USE_DISORDER = re.compile(r"\b(?:dependen|abuse|misuse|use disorder|withdrawal|addict|habit|craving|intoxicat)",
                           re.IGNORECASE)
_USE_SUBSTANCE = [(cls, re.compile(rf"\b(?:{words})\b", re.IGNORECASE)) for cls, words in _USE_CLASS]
#: DSM-5's severities as ICD-10-CM codes them (its guideline I.C.5.b and its inclusion terms): a mild use
#: disorder is "abuse" (F1x.1-), a moderate or severe one "dependence" (F1x.2-); a "misuse" is an abuse.
_MILD = re.compile(r"\buse disorder,? mild\b|\bmild (?P<what>[\w-]+) use disorder\b", re.IGNORECASE)
_MODERATE = re.compile(r"\buse disorder,? (?:moderate(?: or severe)?|severe)\b|"
                       r"\b(?:moderate|severe) (?P<what>[\w-]+) use disorder\b", re.IGNORECASE)
_MISUSE = re.compile(r"\bmisuse\b", re.IGNORECASE)


def substance_use_reading(text: str) -> str:
    """A substance named in a use disorder ("dependence", "abuse", "use disorder", "withdrawal", ...) by its
    ICD-10-CM class: "heroin dependence" -> "opioid dependence" (F11.2-), "methamphetamine abuse" -> "other
    stimulant abuse" (F15.1-), "benzodiazepines dependence" -> "sedative, hypnotic or anxiolytic dependence"
    (F13.2-). A text with no use disorder keeps the substance: "heroin overdose" is T40.1-. DSM-5's severities
    are read as ICD-10-CM codes them: "cocaine use disorder, mild" is "cocaine abuse" (F14.1-), "severe
    alcohol use disorder" "alcohol dependence" (F10.2-), and a "misuse" an abuse."""
    if not _USE_DISORDER.search(text):
        return text
    for cls, pattern in _USE_SUBSTANCE:
        text = pattern.sub(cls, text)
    text = _MILD.sub(lambda m: f"{m.group('what')} abuse" if m.group("what") else "abuse", text)
    text = _MODERATE.sub(lambda m: f"{m.group('what')} dependence" if m.group("what") else "dependence", text)
    return _MISUSE.sub("abuse", text)


#: Weakness or paralysis of one side of the body, as people say it: ICD-10-CM's hemiparesis and hemiplegia
#: (G81, I69.-5-), which name the side "affecting right dominant side".
_ONE_SIDE = re.compile(
    r"\b(?P<side1>right|left|one)[- ]sided? (?P<what1>weakness|paralysis)\b|"
    r"\b(?P<what2>weakness|paralysis)(?P<both> (?:or|and) (?:weakness|paralysis))? (?:of|on|in|affecting) (?:the )?"
    r"(?P<side2>right|left|one) (?P<dominance>(?:non-?)?dominant )?side(?: of the body)?\b", re.IGNORECASE)


_STROKE = re.compile(r"\b(?:stroke|cva|cerebral infarction|cerebrovascular|intracerebral|subarachnoid)", re.IGNORECASE)


def one_side_reading(text: str) -> str:
    """Weakness or paralysis of one side after a stroke as ICD-10-CM names it: "left-sided weakness after a
    stroke" -> "hemiparesis affecting left side after a stroke", "weakness or paralysis of right non-dominant
    side after a stroke" -> "hemiplegia and hemiparesis affecting right non-dominant side after a stroke"
    (I69.353, not I69.363 "Other paralytic syndrome ..."). Without a stroke named, a paralysis of one side is
    still hemiplegia ("paralysis of one side of the body": G81.9-), but a weakness that a record does not call
    hemiparesis is a symptom: "weakness of left side" -> "left-sided weakness" (R53.1 "Weakness", not R10.A2
    "Flank pain, left side")."""
    stroke = bool(_STROKE.search(text))

    def word(match: re.Match[str]) -> str:
        what = (match.group("what1") or match.group("what2")).lower()
        side = (match.group("side1") or match.group("side2")).lower()
        if not stroke and (what == "weakness" or match.group("both")):
            return match.group(0) if side == "one" else f"{side}-sided weakness"
        named = "hemiplegia and hemiparesis" if match.group("both") else (
            "hemiparesis" if what == "weakness" else "hemiplegia")
        where = "" if side == "one" else f" affecting {side} {(match.group('dominance') or '').lower()}side"
        return named + where

    return _ONE_SIDE.sub(word, text)


_PARALYSIS = re.compile(r"\b(?:hemipleg|hemipares|monopleg|monopares|paralytic syndrome)", re.IGNORECASE)
_SIDE_WORD = re.compile(r"\b(right|left)\b(?![- ]?(?:non-?)?dominant)", re.IGNORECASE)
_DOMINANCE = re.compile(r"dominant", re.IGNORECASE)


def dominance_reading(text: str) -> str:
    """The dominance ICD-10-CM's guidelines give a paralysis of one side whose record names the side only
    (I.C.6.a: the right side is the dominant one, the left the non-dominant one): "left hemiparesis after
    a stroke" -> "left non-dominant hemiparesis after a stroke" (I69.354, not I69.352 "... left dominant
    side")."""
    if not _PARALYSIS.search(text) or _DOMINANCE.search(text):
        return text
    return _SIDE_WORD.sub(lambda m: f"{m.group(1)} {'dominant' if m.group(1).lower() == 'right' else 'non-dominant'}",
                          text, count=1)


#: The front or back of a limb: ICD-10-CM's "anterior" and "posterior" (S76.1- "... anterior muscle group at
#: thigh level", S86.2- "... anterior muscle group at lower leg level", S76.3- "... posterior muscle group").
_LIMB_SIDE = re.compile(r"\b(?:(?:in|on|of|at) )?(?:the )?(?P<face>front|back) of (?:the |my |his |her )?"
                        r"(?P<limb>(?:(?:left|right) )?(?:lower leg|upper arm|thigh|leg|forearm|arm))\b", re.IGNORECASE)


def limb_face_reading(text: str) -> str:
    """The front or back of a limb as ICD-10-CM names it: "injury of the muscles in the front of the left
    lower leg" -> "injury of the muscles anterior left lower leg" (S86.292), "strain in back of right thigh"
    -> "strain posterior right thigh" (S76.311, the hamstrings)."""
    return _LIMB_SIDE.sub(lambda m: f"{'anterior' if m.group('face').lower() == 'front' else 'posterior'} "
                                    f"{m.group('limb')}", text)


#: Something "stuck in" a body part: ICD-10-CM's foreign body (T15-T19). A thing must be named before it.
_STUCK = re.compile(r"(?<=\w )(?:stuck|lodged|caught|trapped|embedded)\s+(?:in|inside|up)\s+"
                    r"(?:the |my |his |her |a |an |their |(?:child|baby|kid)'s )?", re.IGNORECASE)


def foreign_body_reading(text: str) -> str:
    """Something stuck in a body part as ICD-10-CM names it: "bead stuck in nose" -> "bead foreign body in
    nose" (T17.1 "Foreign body in nostril", not Q84.1, a disturbance of hair), "coin stuck in throat" ->
    "coin foreign body in throat" (T17.2)."""
    return _STUCK.sub("foreign body in ", text)


#: "NEC" opening a query: necrotizing enterocolitis (P77, K55.3-), as neonatal and surgical notes write it;
#: after a condition it is ICD-10-CM's "not elsewhere classified" ("pulmonary eosinophilia NEC").
_NEC_FIRST = re.compile(r"^NEC\b(?!-)")


def enterocolitis_reading(text: str) -> str:
    """ "NEC" at the start of a query, in capitals, as necrotizing enterocolitis: "NEC stage 2" ->
    "necrotizing enterocolitis stage 2" (P77.2 / K55.32), where ICD-10-CM's own "NEC" follows what it
    qualifies ("eosinophilic lung disease NEC" keeps it, and steering reads it as "not elsewhere
    classified")."""
    return _NEC_FIRST.sub("necrotizing enterocolitis", text)


#: How a person meets an object, in ICD-10-CM's words (W22 "Striking against or struck by other objects"):
#: hit by it is struck by it, walking or bumping into it is striking against it, a collision with it either.
_OBJECT_VERBS = (
    (r"(?:(?:was|got|being|been) )?(?:hit|struck) by", "struck by"),
    (r"(?:hitting|hit against|struck against|striking against|(?:walk|walked|walking|bump|bumped|bumping|ran|run|"
     r"running) into)", "striking against"),
    (r"(?:collision|collided|colliding) with", "striking against or struck by"),
)
_OBJECT_VERB = "|".join(f"(?:{pattern})" for pattern, _ in _OBJECT_VERBS)
_OBJECT = re.compile(rf"\b((?:{_OBJECT_VERB})(?:,? or (?:{_OBJECT_VERB}))*) (?=(?:(?:a|an|the|another|other|some) )?"
                     rf"objects?\b)", re.IGNORECASE)


def object_strike_reading(text: str) -> str:
    """Meeting an object as ICD-10-CM words it: "hit by or walking into another object" -> "struck by or
    striking against another object" (W22, not W50.0 "Accidental hit or strike by another person");
    "collision with other objects" -> "striking against or struck by other objects" (not V81.3, a railway
    train's collision). Only before "object(s)": "hit by a car" and "walked into a wall" (W22.01 "Walked into
    wall") keep their words."""
    def read(match: re.Match[str]) -> str:
        said = []
        for verb in re.split(r",? or ", match.group(1)):
            icd = next(words for pattern, words in _OBJECT_VERBS if re.fullmatch(pattern, verb, re.IGNORECASE))
            said += [w for w in icd.split(" or ") if w not in said]
        return " or ".join(said) + " "

    return _OBJECT.sub(read, text)


#: What follows an event in ICD-10-CM's words, a "post-" adjective: (adjective, the event as a query says it
#: after data/abbreviations.csv's expansions). Only events whose "post-" word ICD-10-CM titles use.
_POST_EVENTS = (
    ("postpolio", r"poliomyelitis|polio"),
    ("postherpetic", r"herpes zoster|zoster|shingles"),
    ("postthrombotic", r"deep vein thrombosis|deep venous thrombosis|venous thrombosis|thrombosis|blood clots?"),
    ("postpartum", r"childbirth|giving birth|birth|having a baby|pregnancy"),
    ("posthemorrhagic", r"(?:acute )?blood loss|hemorrhage"),
    ("postmenopausal", r"menopause"),
    ("postcoital", r"sex|sexual intercourse|intercourse|coitus"),
    ("postviral", r"viral infection|viral illness|virus|influenza"),
    ("postepileptic", r"(?:epileptic )?seizures?|epilepsy"),
    ("postconcussional", r"concussion"),
    ("post-thoracotomy", r"thoracotomy"),
    ("postmastectomy", r"mastectomy"),
    ("postlaminectomy", r"laminectomy"),
    ("postcholecystectomy", r"cholecystectomy|gallbladder removal|removal of gallbladder"),
    ("postgastrectomy", r"gastrectomy"),
    ("postencephalitic", r"encephalitis"),
    ("post-traumatic", r"trauma|traumatic event"),
)
#: What ICD-10-CM names by such a "post-" adjective: a syndrome, a pain, ... ("postherpetic neuralgia",
#: "postpartum depression", "postthrombotic syndrome"); not "osteopathy", which it says "after poliomyelitis"
#: itself (M89.6), nor an infection "following delivery" (O86).
_POST_HEADS = (r"syndromes?|neuralgia|pain|headaches?|depression|psychosis|anemia|bleeding|hemorrhage|fatigue|"
               r"paralysis|lymphedema|encephalitis|neuropathy|polyneuropathy|myelitis|stress disorder|"
               r"osteoarthritis|dementia|amnesia|parkinsonism")
_POST = re.compile(rf"\b(?P<head>{_POST_HEADS}) (?:after|following) (?:(?:a|an|the|my|her|his|recent|previous) )?"
                   rf"(?P<event>{'|'.join(f'(?:{events})' for _, events in _POST_EVENTS)})\b", re.IGNORECASE)


def post_event_reading(text: str) -> str:
    """What follows an event by ICD-10-CM's "post-" adjective: "syndrome after polio" -> "postpolio syndrome"
    (G14, not M89.6 "Osteopathy after poliomyelitis"), "neuralgia after shingles" -> "postherpetic neuralgia",
    "anemia after blood loss" -> "posthemorrhagic anemia" (D50.0's inclusion term "Posthemorrhagic anemia
    (chronic)"; D62 when acute), "bleeding after sex" -> "postcoital bleeding" (N93.0), "lymphedema after
    mastectomy" -> "postmastectomy lymphedema" (I97.2). Only for what ICD-10-CM names so
    (:data:`_POST_HEADS`): "osteopathy after polio" keeps its words."""
    def read(match: re.Match[str]) -> str:
        event = match.group("event")
        word = next(w for w, events in _POST_EVENTS if re.fullmatch(events, event, re.IGNORECASE))
        return f"{word} {match.group('head')}"

    return _POST.sub(read, text)


@functools.lru_cache(maxsize=1)
def load_inflammations(path: str | Path = INFLAMMATIONS_PATH) -> tuple[tuple[str, str], ...]:
    """(site, inflammation) rows of data/inflammations.csv ("pancreas", "pancreatitis"); # lines are comments."""
    from .files import read_pairs

    return read_pairs(Path(path))


@functools.lru_cache(maxsize=1)
def _inflammation_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    words = dict(load_inflammations())
    sites = "|".join(re.escape(site) for site in sorted(words, key=len, reverse=True))
    side = r"(?P<side>(?:right|left|bilateral|both) )?"
    pattern = re.compile(rf"\binflammation (?:of|in) (?:the |a |an |my |his |her |their )?{side}(?P<a>{sites})\b|"
                         rf"\binflamed {side.replace('side', 'side2')}(?P<b>{sites})\b|"
                         rf"\b{side.replace('side', 'side3')}(?P<c>{sites}) inflammation\b", re.IGNORECASE)
    return pattern, words


def inflammation_reading(text: str) -> str:
    """An inflammation of a body part as ICD-10-CM names it (data/inflammations.csv): "inflammation of the
    pancreas" -> "pancreatitis", "inflamed gallbladder" -> "cholecystitis", "superficial inflammation of the
    left cornea" -> "superficial left keratitis" (H16.102), "small airway inflammation" -> "bronchiolitis"."""
    if "inflam" not in text.lower():
        return text
    pattern, words = _inflammation_pattern()

    def word(match: re.Match[str]) -> str:
        side = match.group("side") or match.group("side2") or match.group("side3") or ""
        site = (match.group("a") or match.group("b") or match.group("c")).lower()
        return f"{side.lower()}{words[site]}"

    return pattern.sub(word, text)


#: A home as a place: not a nursing, mobile, children's or group home, an "at-home" carer, a "home for the
#: sick", home care or a home loan.
_HOME = re.compile(r"(?<!-)\b(?<!nursing )(?<!mobile )(?<!children's )(?<!childrens )(?<!group )(?<!foster )"
                   r"(?<!retirement )(?<!care )(?<!boarding )(?<!funeral )home\b(?!-| for\b| care\b| health\b| loan\b)",
                   re.IGNORECASE)
#: Where a home is the place of an injury: a part of it that Y92.0- names, a private home, or the phrase itself.
_PLACE = re.compile(r"\b(?:kitchen|dining room|bathroom|bedroom|garden|yard|backyard|driveway|garage|swimming pool|"
                    r"private home|place (?:of occurrence|where)|injur(?:y|ed) (?:at|in) home)\b",
                    re.IGNORECASE)


def home_reading(text: str) -> str:
    """A home as ICD-10-CM names the place of an injury: Y92.009's inclusion term is "Home as the place of
    occurrence of the external cause", its title "Unspecified place in unspecified non-institutional (private)
    residence", and Y92.00- titles every part of a home of no named kind by "non-institutional residence".
    "bathroom at home" -> "bathroom at non-institutional residence" (Y92.002), not Y92.121 "Bathroom in nursing
    home" nor Y92.031 "Bathroom in apartment"; "garden of private home" is Y92.007, not Y92.017 "... in
    single-family (private) house". Only where the text names the place (a room, yard or driveway, a private
    home, "place of occurrence", an injury at home): "needs assistance at home" keeps its words (Z74.2 "Need
    for assistance at home ...")."""
    return _HOME.sub("non-institutional residence", text) if _PLACE.search(text) else text


def read_as_icd(text: str) -> str:
    """``text`` with each phrasing that ICD-10-CM titles otherwise written its way: a collision
    (:func:`collision_reading`), a fractured hip (:func:`hip_fracture_reading`), a fall
    (:func:`fall_reading`), a pregnancy's weeks (:func:`trimester_reading`), a home as the place of an
    injury (:func:`home_reading`), a substance in a use disorder (:func:`substance_use_reading`), an
    inflammation of a body part (:func:`inflammation_reading`), something stuck in one
    (:func:`foreign_body_reading`), one side's weakness after a stroke (:func:`one_side_reading`) and the
    dominance of a paralysed side (:func:`dominance_reading`), the front or back of a limb
    (:func:`limb_face_reading`), meeting an object (:func:`object_strike_reading`), what follows an
    event (:func:`post_event_reading`) and a query's opening "NEC" (:func:`enterocolitis_reading`)."""
    for reading in (collision_reading, hip_fracture_reading, fall_reading, trimester_reading, home_reading,
                    substance_use_reading, inflammation_reading, foreign_body_reading, one_side_reading,
                    dominance_reading, limb_face_reading, object_strike_reading, post_event_reading,
                    enterocolitis_reading):
        text = reading(text)
    return text


def merged(curated: Sequence[Abbreviation], mined: Sequence[Abbreviation]) -> tuple[Abbreviation, ...]:
    """The curated rows, then each mined row whose term no curated row already takes (in any case)."""
    taken = {a.term.lower() for a in curated}
    return (*curated, *(a for a in mined if a.term.lower() not in taken))


@functools.lru_cache(maxsize=1)
def default_expander() -> Expander:
    return Expander(merged(load_abbreviations(), load_abbreviations(ACRONYMS_PATH)))


def load_common_words(path: str | Path = COMMON_WORDS_PATH) -> frozenset[str]:
    """The words of a word list, one a line; lines starting with # are comments."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


@functools.lru_cache(maxsize=1)
def never_corrected() -> frozenset[str]:
    """Words the spelling step leaves alone: those the default expander writes (ICD-10-CM's words and
    clinicians') and common English words (data/common_words.txt: "hurt" is not a misspelling of "hurst")."""
    return default_expander().protected | load_common_words()


# ---------------------------------------------------------------------------------- acronyms ICD-10-CM defines

#: An acronym in parentheses or brackets after what it stands for: "Hypoxic ischemic encephalopathy [HIE]".
_DEFINED = re.compile(r"[\[(]([A-Z]{3,8})s?[\])]")
#: An acronym standing alone in an inclusion term: "... underdosing of SSRI antidepressants".
_STANDALONE = re.compile(r"\b[A-Z]{3,8}\b")
_LETTERS = re.compile(r"[A-Za-z][A-Za-z'-]*")
#: Words a long form neither starts nor ends with ("Acute disseminated encephalitis and encephalomyelitis
#: (ADEM)" would otherwise read ADEM as "and encephalomyelitis").
_EDGE_WORDS = frozenset({"and", "or", "of", "in", "with", "to", "by", "for", "the", "a", "an", "due", "on"})
#: ICD-10-CM's own notes, never an acronym to expand.
_NOT_ACRONYMS = frozenset({"NOS", "NEC"})


def long_form(short: str, text: str) -> str | None:
    """The shortest end of ``text`` whose letters spell ``short`` in order, its first letter starting a word
    (Schwartz and Hearst's algorithm, 2003): ("IUGR", "... Intrauterine growth restriction") -> "Intrauterine
    growth restriction"; None if there is none, if it starts or ends with a small word, if its last word
    lacks the acronym's last letter (the letters came from too far back: "Low grade squamous intraepithelial
    lesion on cytologic smear of anus (LGSIL)"), or if it holds the acronym itself ("HELLP syndrome")."""
    sf, lf = short.lower(), text.lower()
    si, li = len(sf) - 1, len(lf) - 1
    while si >= 0:
        while li >= 0 and (lf[li] != sf[si] or (si == 0 and li > 0 and lf[li - 1].isalnum())):
            li -= 1
        if li < 0:
            return None
        li, si = li - 1, si - 1
    found = text[lf.rfind(" ", 0, li + 1) + 1:].strip(" ,")
    words = found.lower().split()
    if (not words or words[0] in _EDGE_WORDS or words[-1] in _EDGE_WORDS or len(found) <= len(short)
            or sf[-1] not in words[-1] or sf in words):
        return None
    return found


def _spelled(short: str, description: str, synonym: str, at: int) -> str | None:
    """The words of ``description`` whose initials spell ``short`` where ``synonym`` writes ``short`` with
    the same words before it, or after it: "Poisoning by, ... underdosing of selective serotonin reuptake
    inhibitors" beside "Poisoning by, ... underdosing of SSRI antidepressants". Initials alone are not enough:
    "AML M4" under "Acute myelomonocytic leukemia" spells AML by chance, with nothing else in common."""
    words = _LETTERS.findall(description)
    before, after = _LETTERS.findall(synonym[:at]), _LETTERS.findall(synonym[at + len(short):])
    for i in range(len(words) - len(short) + 1):
        run = words[i : i + len(short)]
        if "".join(w[0] for w in run).upper() != short:
            continue
        same_before = bool(before) and [w.lower() for w in words[:i]] == [w.lower() for w in before]
        same_after = bool(after) and [w.lower() for w in words[i + len(short):]] == [w.lower() for w in after]
        if same_before or same_after:
            return " ".join(run)
    return None


def mine_acronyms(codes: Iterable[tuple[str, Sequence[str]]]) -> tuple[Abbreviation, ...]:
    """The acronyms ICD-10-CM spells out, from each code's (description, inclusion terms): one written in
    parentheses or brackets after its long form (:func:`long_form`), or one an inclusion term writes where
    the description has the words (:func:`_spelled`). Each expands, matched in capitals only, to its most
    frequent long form in lower case (ties: the first seen), its plural ("SSRIs") likewise; sorted by term."""
    counts: dict[str, dict[str, int]] = {}

    def seen(short: str, found: str | None) -> None:
        if found and short not in _NOT_ACRONYMS:
            forms = counts.setdefault(short, {})
            forms[found.lower()] = forms.get(found.lower(), 0) + 1

    for description, terms in codes:
        for text in (description, *terms):
            for match in _DEFINED.finditer(text):
                before = re.sub(r"\s*[\[(][^\])]*[\])]", "", text[: match.start()])  # earlier brackets out
                seen(match.group(1), long_form(match.group(1), " ".join(before.split()[-2 * len(match.group(1)):])))
        for term in terms:
            for match in _STANDALONE.finditer(term):
                if match.group(0) not in description:
                    seen(match.group(0), _spelled(match.group(0), description, term, match.start()))
    out: list[Abbreviation] = []
    for short in sorted(counts):
        expansion = max(counts[short].items(), key=lambda item: item[1])[0]
        out.append(Abbreviation(short, expansion, "abbreviation", True))
        if short + "s" not in counts:
            out.append(Abbreviation(short + "s", expansion, "abbreviation", True))
    return tuple(out)
