"""Hybrid retrieval: abbreviations, the lexical index, laterality/encounter steering, synonyms, fusion.

Unit tests run on real FY2026 data (subsets) and the real bm25s; the integration tests ingest with the
hashing embedder (fast, deterministic) into a real embedded Chroma store.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from icdsearch import ingest, search, search_many
from icdsearch.codeset import CodeSet, default_code_set, synonyms
from icdsearch.collections import StoreConfig, as_store, synonym_collection_name
from icdsearch.errors import BadDataset, BadQuery, CollectionNotFound, IncompleteCollection, StoreError
from icdsearch.lexical import (LexicalIndex, TOKEN_PATTERN, build_index, index_ready, lexical_dir, load_word_forms,
                               us_spellings)
from icdsearch.query import ABLATION, MODES, Pipeline, resolve_mode
from icdsearch.shorthand import (Abbreviation, Expander, collision_reading, default_expander, fall_reading,
                                 hip_fracture_reading, load_abbreviations, long_form, merged, mine_acronyms,
                                 substance_use_reading, trimester_reading, home_reading, inflammation_reading,
                                 load_inflammations, foreign_body_reading, one_side_reading, dominance_reading,
                                 limb_face_reading, object_strike_reading, post_event_reading,
                                 enterocolitis_reading)
from icdsearch.steering import (SIDES, Intent, VariantTable, and_variants, collision_category, exact_wording_qualifiers,
                                fold, prefer_collision,
                                history_intent, intent_words, named_defaults, parse_intent, prefer_exact, prefer_default_type, prefer_traumatic_fracture,
                                population_intent, prefer_unrestricted, says_nec, prefer_general, prefer_header, prefer_history,
                                prefer_specific, prefer_consistent, prefer_other, contradicts, plain_words, qualifier_text, says_exactly,
                                says_alternatives, says_exactly_any, says_plural, plurals, steer,
                                variant_key, wordings)

from .conftest import HASH


@pytest.fixture(scope="module")
def ankle_codes() -> CodeSet:
    """Real codes: ankle sprains (S93.4-), essential hypertension (I1-), type 2 diabetes (E11)."""
    return default_code_set().subset(lambda c: c.code.startswith(("S93.4", "I1", "E11", "M25.56")), "ankle")


@pytest.fixture(scope="module")
def lexical(ankle_codes: CodeSet, tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    directory = tmp_path_factory.mktemp("lexical") / ankle_codes.version
    build_index(directory, ankle_codes, synonyms(ankle_codes))
    return LexicalIndex.load(directory)


# ------------------------------------------------------------------------------------------ abbreviations


@pytest.mark.parametrize("text, expanded", [
    ("T2DM w/o complications", "type 2 diabetes mellitus without complications"),
    ("HTN", "hypertension"),
    ("hx of MI", "history of myocardial infarction"),
    ("s/p fall, R wrist fx init", "status post fall, right wrist fracture initial encounter"),
    ("AF w RVR", "atrial fibrillation with rapid rate"),
    ("heart attack", "myocardial infarction"),
    ("a  fib", "atrial fibrillation"),  # a multi-word term matches across any whitespace
    ("low BP", "hypotension"),
    ("nail fungus of right big toe", "onychomycosis of right big toe"),
    ("chemical burn of right hand", "corrosion of right hand"),
    ("full-thickness burn, left thigh", "third degree burn, left thigh"),
    ("dislocated right MCP joint", "dislocated right metacarpophalangeal joint"),
    ("PIP joint sprain", "proximal interphalangeal joint sprain"),
    ("a dip in the pool", "a dip in the pool"),  # "DIP" only in capitals
    ("septic shock", "severe sepsis with septic shock"),
    ("postprocedural septic shock", "postprocedural septic shock"),  # a longer term kept as itself wins
    ("intentional self harm by knife", "intentional self-harm by knife"),
    ("intentional tylenol overdose", "intentional self-harm 4-aminophenol derivatives poisoning"),
    ("salter harris type 2 fracture", "salter-harris type II fracture"),
    ("Salter-Harris 4 of the left distal radius", "salter-harris type IV of the left distal radius"),
    ("smoker's cough", "simple chronic bronchitis"),  # not "smoker" (nicotine dependence) and a stray "'s cough"
    ("tailbone pain", "coccygodynia"),  # the longer term wins over "tailbone" (sacral region)
    ("pressure ulcer of tailbone", "pressure ulcer of sacral region"),
    ("thrush", "oral thrush"),  # B37.0's inclusion term, the index's "Thrush (oral)"
    ("oral thrush", "oral thrush"),  # listed as itself, so not "oral oral thrush"
    ("vaginal thrush", "candidiasis of vulva and vagina"),
    ("toothache", "toothache"),  # K08.89's own inclusion term "Toothache NOS"
    ("ex-smoker", "personal history of nicotine dependence"),  # not "ex-" + "smoker" (nicotine dependence)
    ("missed period", "amenorrhea"),
    ("missed abortion", "missed abortion"),  # O02.1's own words: only the whole term "missed period" expands
    ("deaf-mute", "deaf-mute"),  # "deaf" is a whole word only
    # ICD-10-CM's transport definitions: a bicycle is a pedal cycle, but an electric one keeps its own words
    ("bus passenger hurt in collision with bicycle", "bus passenger hurt in collision with pedal cycle"),
    ("electric bicycle rider hit by SUV", "electric (assisted) bicycle rider hit by sport utility vehicle"),
    ("moped crash", "motorcycle crash"),
    # ICD-10-CM's undetermined intent is one phrase: its "intentional" is not intentional self-harm
    ("poisoning, undetermined whether accidental or intentional",
     "poisoning, undetermined whether accidental or intentional"),
    ("complications of weight loss surgery", "complications of bariatric surgery"),
    ("atrophy of right ovary and oviduct", "atrophy of right ovary and fallopian tube"),
    ("hydrosalpinx", "hydrosalpinx"),  # "salpinx" is a whole word only
    ("nonorganic insomnia", "not due to a substance or known physiological condition insomnia"),  # F51.0
    ("fungal skin infection", "superficial mycosis"),  # B36.9, not L08.9 "Local infection of the skin ..."
    ("non-malignant growth of the ovary", "benign growth of the ovary"),  # D27, not C56 (one token "nonmalignant")
    ("birth defect of the heart", "congenital malformation of the heart"),  # Q24.9, not I51.0 "..., acquired"
    ("failed induced abortion", "failed termination of pregnancy"),  # O07, not O03 "Spontaneous abortion"
    ("migraine headaches", "migraine"),  # G43, not R51 "Headache"
    ("CLL in relapse", "chronic lymphocytic leukemia in relapse"),
    ("all types of leukemia", "all types of leukemia"),  # "ALL" only in capitals
    ("borderline tumour of ovary", "neoplasm of uncertain behavior of ovary"),  # D39.1, not D27 "Benign ..."
    ("borderline personality disorder", "borderline personality disorder"),
    ("post polio syndrome", "postpolio syndrome"),  # G14, not "post poliomyelitis" (A80)
    ("corneal argyrosis, left eye", "corneal argentous deposit, left eye"),  # H18.022 "Argentous corneal deposits"
    ("conjunctival argyrosis", "conjunctival argyrosis"),  # H11.13's inclusion term keeps its word
    ("calcific bursitis of the right knee", "calcium deposit in bursa of the right knee"),  # M71.461
    ("partial rotator cuff tear, right", "incomplete rotator cuff tear, right"),  # M75.111
    ("full-thickness burn of thigh", "third degree burn of thigh"),  # not "full-thickness tear"
    ("shared delusional disorder", "shared psychotic disorder"),  # F24, ICD-10's "Induced delusional disorder"
    ("superficial fungal disease", "superficial mycosis"),  # B36.9
    ("buttonhole finger deformity, left", "boutonniere deformity, left"),  # M20.022, not "deformity deformity"
    ("wasting syndrome due to cancer", "cachexia due to malignant neoplasm"),
    ("severe wasting", "severe cachexia"),  # R64
    ("muscle wasting of left thigh", "muscle wasting of left thigh"),  # M62.552 keeps its word
    ("pelvic muscle wasting", "pelvic muscle wasting"),  # N81.84
    ("multiple drug use disorder", "polysubstance drug use disorder"),  # F19's inclusion term  # E88.A's "Cachexia due to underlying condition"
])
def test_abbreviations_expand_to_icd_words(text: str, expanded: str) -> None:
    assert default_expander().expand(text) == expanded


def test_case_marked_terms_expand_only_in_capitals() -> None:
    expander = default_expander()
    assert expander.expand("PE") == "pulmonary embolism"
    assert expander.expand("pe exam") == "pe exam"  # "pe" is not the abbreviation
    assert expander.expand("ED") == "erectile dysfunction" and expander.expand("Ed") == "Ed"


def test_words_containing_a_term_are_left_alone() -> None:
    assert default_expander().expand("chtn dmx w/oo") == "chtn dmx w/oo"


def test_bundled_list_is_well_formed() -> None:
    rows = load_abbreviations()
    assert len(rows) >= 150
    assert {r.kind for r in rows} == {"abbreviation", "shorthand", "lay"}
    for term in ("htn", "t2dm", "ckd", "copd", "afib", "sob", "w/o", "hx"):
        assert any(r.term.lower() == term for r in rows), term


@pytest.mark.parametrize("content, message", [
    ("term,expansion,kind,case\nhtn,,abbreviation,any\n", "row 2"),
    ("term,expansion,kind,case\nhtn,hypertension,acronym,any\n", "kind"),
    ("term,expansion,kind,case\nhtn,hypertension,abbreviation,any\nHTN,high,abbreviation,any\n", "repeats"),
])
def test_bad_abbreviation_files_are_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "abbr.csv"
    path.write_text(content)
    with pytest.raises(BadDataset, match=message):
        load_abbreviations(path)


def test_longest_term_wins() -> None:
    rows = load_abbreviations()
    expander = Expander(tuple(r for r in rows if r.term in ("w/", "w/o", "dm", "dm2")))
    assert expander.expand("dm2 w/o w/") == "type 2 diabetes mellitus without with"


# ------------------------------------------------------------------------------ acronyms ICD-10-CM defines


@pytest.mark.parametrize("short, text, found", [
    ("IUGR", "Intrauterine growth restriction", "Intrauterine growth restriction"),
    ("NSAID", "Poisoning by other nonsteroidal anti-inflammatory drugs", "nonsteroidal anti-inflammatory drugs"),
    ("ECG", "Abnormal electrocardiogram", "electrocardiogram"),  # one word holding the letters
    ("ADEM", "Acute disseminated encephalitis and encephalomyelitis", None),  # would start at "and"
    ("LGSIL", "Low grade squamous intraepithelial lesion on cytologic smear of anus", None),  # "anus": no L
    ("HELLP", "HELLP syndrome", None),  # holds the acronym itself
    ("XYZ", "Acute bronchitis", None),
])
def test_long_form_is_found_by_its_letters(short: str, text: str, found: str | None) -> None:
    assert long_form(short, text) == found


def test_mining_reads_acronyms_in_brackets_and_in_inclusion_terms() -> None:
    mined = {a.term: a for a in mine_acronyms([
        ("Disorders of newborn related to slow fetal growth", ["Intrauterine growth restriction (IUGR)"]),
        ("Poisoning by, adverse effect of and underdosing of selective serotonin reuptake inhibitors",
         ["Poisoning by, adverse effect of and underdosing of SSRI antidepressants"]),
        # "AML M4" spells AML by chance: nothing else of the term is in the description
        ("Acute myelomonocytic leukemia", ["AML M4"]),
        ("Home (NOS) as the place of occurrence", []),
    ])}
    assert set(mined) == {"IUGR", "IUGRs", "SSRI", "SSRIs"}
    assert mined["SSRIs"].expansion == "selective serotonin reuptake inhibitors"
    assert mined["IUGR"].case_sensitive and mined["IUGR"].expansion == "intrauterine growth restriction"


def test_a_curated_term_wins_over_a_mined_one() -> None:
    curated = (Abbreviation("mva", "motor vehicle accident", "abbreviation", False),)
    mined = (Abbreviation("MVA", "motor-vehicle accident", "abbreviation", True),
             Abbreviation("SSRI", "selective serotonin reuptake inhibitors", "abbreviation", True))
    assert [a.expansion for a in merged(curated, mined)] == ["motor vehicle accident",
                                                            "selective serotonin reuptake inhibitors"]


def test_the_default_expander_reads_the_mined_acronyms_in_capitals_only() -> None:
    expander = default_expander()
    assert expander.expand("SSRIs overdose") == "selective serotonin reuptake inhibitors poisoning"
    assert expander.expand("IUGR newborn") == "intrauterine growth restriction newborn"
    assert expander.expand("all") == "all" and expander.expand("ALL") == "acute lymphoblastic leukemia"
    assert expander.expand("COPD") == "chronic obstructive pulmonary disease"  # the curated row


def test_a_query_all_in_capitals_expands_no_capitals_only_term() -> None:
    expander = default_expander()
    assert expander.expand("HIT BY CAR") == "hit by car"  # not heparin induced thrombocytopenia
    assert expander.expand("COPD EXACERBATION") == "chronic obstructive pulmonary disease exacerbation"
    assert expander.expand("PE") == "pulmonary embolism"  # one word in capitals is an abbreviation


@pytest.mark.slow
def test_mining_script_reproduces_the_shipped_acronyms() -> None:
    result = subprocess.run([sys.executable, str(Path(__file__).parent.parent / "scripts" / "mine_acronyms.py"),
                             "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------------------------------------------------ steering


def test_variant_key_separates_side_and_encounter() -> None:
    key, side, suffix = variant_key("Sprain of unspecified ligament of right ankle, initial encounter")
    assert key == "sprain of * ligament of * ankle"
    assert side == 1 and suffix == "initial encounter"
    assert variant_key("Sprain of unspecified ligament of unspecified ankle, sequela")[1:] == (4, "sequela")
    assert variant_key("Essential (primary) hypertension") == ("essential (primary) hypertension", 0, "")


@pytest.mark.parametrize("descriptions", [
    # the bilateral sibling drops the organ the others name
    ("Simple chronic conjunctivitis, right eye", "Simple chronic conjunctivitis, left eye",
     "Simple chronic conjunctivitis, bilateral", "Simple chronic conjunctivitis, unspecified eye"),
    ("Impacted cerumen, right ear", "Impacted cerumen, bilateral", "Impacted cerumen, unspecified ear"),
    # or names it in the plural
    ("Dacryoadenitis of right lacrimal gland", "Dacryoadenitis of bilateral lacrimal glands"),
    ("Carpal tunnel syndrome, right upper limb", "Carpal tunnel syndrome, bilateral upper limbs"),
    ("Cyst of right ovary", "Cyst of bilateral ovaries"),
    ("Chronic angle-closure glaucoma, right eye, mild stage", "Chronic angle-closure glaucoma, bilateral, mild stage"),
])
def test_all_sides_of_a_code_are_one_variant_group(descriptions: tuple[str, ...]) -> None:
    keys = {variant_key(d)[0] for d in descriptions}
    assert len(keys) == 1
    assert sorted(variant_key(d)[1] for d in descriptions) == sorted({SIDES.index(w) for d in descriptions for w in SIDES[1:]
                                                                       if re.search(rf"\b{w}\b", d.lower())})


def test_different_stages_and_organs_stay_apart() -> None:
    assert variant_key("Chronic angle-closure glaucoma, right eye, mild stage")[0] != variant_key(
        "Chronic angle-closure glaucoma, right eye, severe stage")[0]
    assert variant_key("Sprain of unspecified ligament of right ankle")[0] != variant_key(
        "Sprain of unspecified ligament of right knee")[0]


@pytest.mark.parametrize("text, intent", [
    ("sprained right ankle, first visit", Intent("right", "initial")),
    ("left knee pain", Intent("left", "")),
    ("both knees OA follow-up", Intent("bilateral", "subsequent")),
    ("right and left ankle", Intent("bilateral", "")),
    ("fracture of wrist, sequela", Intent("", "sequela")),
    ("subsequent encounter for fracture with nonunion", Intent("", "subsequent", ("nonunion",))),
    ("hypertension", Intent()),
])
def test_parse_intent(text: str, intent: Intent) -> None:
    assert parse_intent(text) == intent


def _table(codes: CodeSet) -> tuple[VariantTable, list[str]]:
    names = [c.code for c in codes]
    return VariantTable.build(names, [c.description for c in codes], [c.billable for c in codes]), names


def test_steering_picks_the_side_and_encounter_the_query_names(ankle_codes: CodeSet) -> None:
    table, names = _table(ankle_codes)
    start = names.index("S93.409A")  # the ranker found the unspecified-side, initial-encounter code
    out = steer([start], Intent("right", "subsequent"), table)
    assert names[out[0]] == "S93.401D" and names[out[1]] == "S93.409A"


def test_steering_without_side_prefers_unspecified_and_keeps_the_encounter(ankle_codes: CodeSet) -> None:
    table, names = _table(ankle_codes)
    out = steer([names.index("S93.402A")], Intent(), table)
    assert [names[i] for i in out[:2]] == ["S93.409A", "S93.402A"]


def test_steering_without_encounter_prefers_the_initial_one(ankle_codes: CodeSet) -> None:
    table, names = _table(ankle_codes)
    # "sprained right ankle": the ranker's best was a sequela code; a coder codes the injury itself
    out = steer([names.index("S93.401S")], Intent("right", ""), table)
    assert [names[i] for i in out[:2]] == ["S93.401A", "S93.401S"]
    # ... but an encounter the query names wins, and a header is not displaced for it
    assert names[steer([names.index("S93.401S")], Intent("right", "sequela"), table)[0]] == "S93.401S"
    assert names[steer([names.index("S93.401")], Intent("right", ""), table)[0]] == "S93.401"
    assert names[steer([names.index("S93.40")], Intent(), table, billable_first=True)[0]] == "S93.409A"


def test_steering_leaves_a_fitting_code_and_ungrouped_codes_alone(ankle_codes: CodeSet) -> None:
    table, names = _table(ankle_codes)
    ranked = [names.index("S93.401A"), names.index("I10"), names.index("E11.9")]
    assert steer(ranked, Intent("right", "initial"), table) == ranked


def test_header_hands_its_place_to_a_fitting_billable_descendant(ankle_codes: CodeSet) -> None:
    table, names = _table(ankle_codes)
    header = names.index("S93.40")
    out = steer([header], Intent("left", "initial"), table)
    assert names[out[0]] == "S93.402A" and out[1] == header
    # No side, no encounter: the header stays first unless billable codes are asked for.
    assert steer([header], Intent(), table) == [header]
    assert table.billable[steer([header], Intent(), table, billable_first=True)[0]]


def test_a_side_said_to_be_unspecified_is_the_unspecified_member() -> None:
    """"laterality unspecified" asks for the unspecified side's code, not a header of no side."""
    assert parse_intent("ankle sprain, laterality unspecified").side == "unspecified"
    assert parse_intent("ankle sprain, side not specified").side == "unspecified"
    assert parse_intent("unspecified ankle sprain").side == ""
    cuffs = default_code_set().subset(lambda c: c.code.startswith("M75.11"), "cuffs")
    table, names = _table(cuffs)
    header = names.index("M75.11")  # "Incomplete rotator cuff tear or rupture not specified as traumatic"
    assert names[steer([header], Intent("unspecified", ""), table)[0]] == "M75.110"  # "... of unspecified shoulder"
    assert names[steer([header], Intent(), table)[0]] == "M75.11"


def test_a_header_that_already_fits_is_not_replaced(ankle_codes: CodeSet) -> None:
    table, names = _table(ankle_codes)
    header = names.index("S93.401")  # "... of right ankle": fits "right" as well as its children do
    assert steer([header], Intent("right", ""), table)[0] == header


def real_index(tmp_path_factory: pytest.TempPathFactory, name: str, prefixes: tuple[str, ...]) -> LexicalIndex:
    """A lexical index over the real FY2026 codes that start with ``prefixes``, with their inclusion terms."""
    codes = default_code_set().subset(lambda c: c.code.startswith(prefixes), name)
    directory = tmp_path_factory.mktemp(name) / codes.version
    build_index(directory, codes, synonyms(codes))
    return LexicalIndex.load(directory)


@pytest.fixture(scope="module")
def general(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """A lexical index over real categories where the coder's "ask nothing more" rule matters."""
    return real_index(tmp_path_factory, "general", ("R07", "K29", "E66", "R52", "S93.4", "T63.04", "S01.0"))


def _general(index: LexicalIndex, query: str, ranked: list[str], window: int = 10) -> list[str]:
    at = [index.position[c] for c in ranked]
    out = prefer_general(at, index.query_words(query), index.qualifiers, lambda i: index.codes[i][:3],
                         index.variants, window)
    return [index.codes[i] for i in out]


@pytest.mark.parametrize(("query", "ranked", "expected"), [
    # a sibling that asks nothing more moves ahead; "unspecified" and "without ..." ask nothing
    ("chest pain", ["R07.89", "R07.9"], ["R07.9", "R07.89"]),
    ("gastritis", ["K29.61", "K29.70"], ["K29.70", "K29.61"]),
    # a word the query said, only the ranked code has: nothing moves
    ("morbid obesity", ["E66.01", "E66.9"], ["E66.01", "E66.9"]),
    # another category is not a sibling
    ("pain", ["R07.89", "R52"], ["R07.89", "R52"]),
    # side and encounter are steering's: members of one variant group are not rivals
    ("sprain of right ankle", ["S93.401S", "S93.401A"], ["S93.401S", "S93.401A"]),
    # a non-billable header does not displace a billable code
    ("sprain of ankle", ["S93.409A", "S93.4"], ["S93.409A", "S93.4"]),
    # "accident" and "accidental" are one word to the rule (the stems differ)
    ("toxic effect of cobra venom, accident", ["T63.041", "T63.04"], ["T63.041", "T63.04"]),
])
def test_prefer_general_takes_the_code_that_asks_nothing_more(general: LexicalIndex, query: str,
                                                               ranked: list[str], expected: list[str]) -> None:
    assert _general(general, query, ranked) == expected


@pytest.fixture(scope="module")
def moods(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """Real F33 (recurrent major depression) and E11 (type 2 diabetes) codes."""
    return real_index(tmp_path_factory, "moods", ("F33", "E11"))


@pytest.mark.parametrize(("query", "ranked", "expected"), [
    # the rival says the query's "moderate" and asks nothing more than the ranked code: it goes first
    ("moderate recurrent major depression", ["F33.9", "F33.1"], ["F33.1", "F33.9"]),
    ("recurrent major depression, moderate", ["F33.9", "F33.0", "F33.1"], ["F33.1", "F33.9", "F33.0"]),
    # "without complications" says "complications": E11.8 does not say more of the query than E11.9
    ("type 2 diabetes without complications", ["E11.9", "E11.8"], ["E11.9", "E11.8"]),
    # the rival says "mild", which the query did not: nothing moves
    ("recurrent major depression", ["F33.9", "F33.0"], ["F33.9", "F33.0"]),
])
def test_prefer_general_takes_the_sibling_that_says_more_of_the_query(moods: LexicalIndex, query: str,
                                                                       ranked: list[str], expected: list[str]) -> None:
    at = [moods.position[c] for c in ranked]
    out = prefer_general(at, moods.query_words(query), moods.qualifiers, lambda i: moods.codes[i][:3],
                         moods.variants, said=moods.said)
    assert [moods.codes[i] for i in out] == expected
    without = prefer_general(at, moods.query_words(query), moods.qualifiers, lambda i: moods.codes[i][:3],
                             moods.variants)
    assert without[0] == at[0]  # the rule needs the descriptions' whole words


@pytest.fixture(scope="module")
def psychoses(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """Real F14.1 codes (cocaine abuse): F14.159 "... with cocaine-induced psychotic disorder, unspecified" and
    F14.19 "... with unspecified cocaine-induced disorder"; and T40 (narcotics) for a drug class in "-otic"."""
    return real_index(tmp_path_factory, "psychoses", ("F14.1", "T40.6"))


def test_a_noun_in_osis_is_its_adjective_in_otic(psychoses: LexicalIndex) -> None:
    """A "cocaine-induced psychosis" is F14.159's "cocaine-induced psychotic disorder": read as different
    words, F14.159 asked "psychotic" of the query and F14.19, asking less, went first."""
    query = "cocaine abuse with cocaine-induced psychosis, unspecified"
    at = [psychoses.position[c] for c in ("F14.19", "F14.159")]
    out = prefer_general(at, psychoses.query_words(query), psychoses.qualifiers, lambda i: psychoses.codes[i][:3],
                         psychoses.variants, said=psychoses.said)
    assert [psychoses.codes[i] for i in out] == ["F14.159", "F14.19"]
    from icdsearch.steering import _same_word

    words = psychoses.query_words
    for noun, adjective in (("psychosis", "psychotic"), ("necrosis", "necrotic"), ("thrombosis", "thrombotic"),
                            ("psoriasis", "psoriatic"), ("metastasis", "metastatic")):
        (a,), (b,) = words(noun), words(adjective)
        assert _same_word(a, b) and _same_word(b, a)
    (narcosis,), (narcotics,) = words("narcosis"), words("narcotics")  # a drug class, not a state
    assert not _same_word(narcosis, narcotics)
    (sepsis,), (septic,) = words("sepsis"), words("septic")
    assert not _same_word(sepsis, septic)  # not an "-osis" word: left as it was


def test_bm25_finds_a_noun_in_osis_by_its_adjective(tmp_path_factory: pytest.TempPathFactory) -> None:
    """"psoriatic disease" is psoriasis: BM25 scores L40 "Psoriasis" by "psoriatic" as by "psoriasis", where
    only the arthropathic codes (L40.5- "Psoriatic spondylitis", ...) said "psoriatic"."""
    index = real_index(tmp_path_factory, "psoriasis", ("L40",))
    scores = index.document_scores("psoriatic disease")
    assert scores[index.position["L40"]] > 0 and scores[index.position["L40.9"]] > 0
    assert np.array_equal(index.document_scores("psoriasis"), index.document_scores("psoriatic"))


def test_bm25_finds_a_noun_in_ia_by_its_adjective_in_ic(tmp_path_factory: pytest.TempPathFactory) -> None:
    """"eosinophilic lung disease" is J82 "Pulmonary eosinophilia, not elsewhere classified": the stemmer
    keeps "eosinophilia" whole but makes "eosinophil" of "eosinophilic", which only J82.8- "Chronic
    eosinophilic pneumonia", ... said. A "-ia" word pairs only with an "-ic" word the text uses: "malaria"
    is not "malar" (of the cheek), which no "malaric" makes an adjective."""
    index = real_index(tmp_path_factory, "eosinophilia", ("J82", "B50", "B54", "S02.4"))
    assert index.document_scores("eosinophilic")[index.position["J82"]] > 0
    assert np.array_equal(index.document_scores("eosinophilia"), index.document_scores("eosinophilic"))
    assert "eosinophil" in index._forms["eosinophilia"]
    assert "malar" in index._vocab and "malaria" in index._vocab and "malaria" not in index._forms



def test_bm25_finds_a_plural_in_oses_by_its_adjective(tmp_path_factory: pytest.TempPathFactory) -> None:
    """"mycotic infections" finds B36 "Other superficial mycoses": the stemmer makes "mycos" of "mycoses",
    "mycosi" of "mycosis" and "mycot" of "mycotic"."""
    index = real_index(tmp_path_factory, "mycoses", ("B36", "H16.06"))
    assert "mycot" in index._forms["mycos"]
    assert index.document_scores("mycotic")[index.position["B36"]] > 0


def test_a_number_in_digits_is_its_roman_numeral(tmp_path_factory: pytest.TempPathFactory) -> None:
    """"class 4" is K08.104's "class IV" (and "stage IV" a pressure ulcer's "stage 4"), in BM25 and in
    steering; other numbers stay apart."""
    from icdsearch.steering import _same_word

    index = real_index(tmp_path_factory, "edentulism", ("K08.10", "L89.15"))
    scores = index.document_scores("complete loss of teeth class 4")
    assert max(scores[index.position[c]] for c in ("K08.101", "K08.102", "K08.103")) < scores[index.position["K08.104"]]
    assert np.argmax(index.document_scores("pressure ulcer of sacral region stage iv")) == index.position["L89.154"]
    assert _same_word("4", "iv") and _same_word("iii", "3") and not _same_word("4", "iii")



def test_lymphocytic_is_lymphoid(tmp_path_factory: pytest.TempPathFactory) -> None:
    """ICD-10-CM's index: "Leukemia, lymphocytic - see Leukemia, lymphoid". "lymphocytic leukemia" says all
    of C91 "Lymphoid leukemia" and asks nothing more, where C91.1 asks "chronic" and "B-cell type"."""
    from icdsearch.steering import _same_word

    index = real_index(tmp_path_factory, "lymphoid", ("C91.1", "C91.9"))
    assert _same_word("lymphocyt", "lymphoid")
    assert _general(index, "lymphocytic leukemia", ["C91.1", "C91.9"])[0] == "C91.9"


def test_tubal_is_the_fallopian_tube(tmp_path_factory: pytest.TempPathFactory) -> None:
    """"ovarian and tubal atrophy" says all of N83.33- "Acquired atrophy of ovary and fallopian tube", where
    N83.31- "Acquired atrophy of ovary" says less of it: N83.331 keeps its place (it asks nothing unsaid)."""
    from icdsearch.steering import _same_word

    index = real_index(tmp_path_factory, "tubal", ("N83.3",))
    assert _same_word("tubal", "fallopian") and _same_word("tube", "tubal") and not _same_word("tubal", "ovari")
    assert _general(index, "acquired right ovarian and tubal atrophy", ["N83.331", "N83.311"])[0] == "N83.331"
    assert _general(index, "acquired right ovarian atrophy", ["N83.331", "N83.311"])[0] == "N83.311"


def test_a_tumor_is_a_neoplasm(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A query's "tumor" is written "neoplasm" (data/abbreviations.csv); C7A.022 "Malignant carcinoid tumor
    of the ascending colon" still says exactly "malignant carcinoid neoplasm of ascending colon", which
    C18.2 "Malignant neoplasm of ascending colon" does not."""
    index = real_index(tmp_path_factory, "carcinoid", ("C7A.02", "C18.2"))
    words = index.query_words("malignant carcinoid neoplasm of ascending colon")
    at = [index.position[c] for c in ("C18.2", "C7A.022")]
    assert [index.codes[i] for i in prefer_exact(at, words, index.qualifiers)] == ["C7A.022", "C18.2"]


def test_a_partial_tear_is_an_incomplete_one(tmp_path_factory: pytest.TempPathFactory) -> None:
    """M75.110 "Incomplete rotator cuff tear or rupture of unspecified shoulder, not specified as traumatic"
    is the partial-thickness tear clinicians name: it says the query's "partial", M75.100 "Unspecified
    rotator cuff tear ..." does not."""
    from icdsearch.steering import _same_word

    index = real_index(tmp_path_factory, "cuffs", ("M75.1",))
    (partial,), (incomplete,) = index.query_words("partial"), index.query_words("incomplete")
    assert _same_word(partial, incomplete) and not _same_word(partial, "complet")
    query = "nontraumatic partial rotator cuff tear of unspecified shoulder"
    at = [index.position[c] for c in ("M75.100", "M75.120", "M75.110")]
    out = prefer_general(at, index.query_words(query), index.qualifiers, lambda i: index.codes[i][:3],
                         index.variants, said=index.said)
    assert index.codes[out[0]] == "M75.110"


def test_a_nonessential_modifier_asks_nothing(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Y92.002 "Bathroom of unspecified non-institutional (private) residence ...": its "(private)" may be
    present or absent (ICD-10-CM's convention), so it asks nothing of a query, and Y92.091 "Bathroom in
    other non-institutional residence ...", which asks "other", no longer goes first. K76.0 "Fatty (change
    of) liver" still says "fatty change of liver" exactly, through its title read with the modifier."""
    index = real_index(tmp_path_factory, "modifiers", ("Y92.0", "K76.0", "K70.0"))
    y92002 = index.position["Y92.002"]
    assert "privat" not in index.qualifiers(y92002) and "privat" in index.said(y92002)
    query = "place of occurrence: bathroom in unspecified non-institutional residence"
    at = [index.position[c] for c in ("Y92.091", "Y92.002")]
    out = prefer_general(at, index.query_words(query), index.qualifiers, lambda i: index.codes[i][:3],
                         index.variants, said=index.said)
    assert [index.codes[i] for i in out] == ["Y92.002", "Y92.091"]
    words = index.query_words("fatty change of liver")
    at = [index.position[c] for c in ("K70.0", "K76.0")]
    qualifiers = exact_wording_qualifiers(at, words, index.qualifiers, index.wording_qualifiers)
    assert [index.codes[i] for i in prefer_exact(at, words, qualifiers)] == ["K76.0", "K70.0"]


@pytest.mark.parametrize("text, words", [
    ("toxic effect of hydrogen sulfide, intent unknown", "undetermined"),
    ("deliberate overdose of aspirin", "intentional self-harm"),
    ("aspirin overdose by another person", "assault"),
    ("unintentional aspirin overdose", "accidental unintentional"),
    ("aspirin overdose", ""),
    ("unclear whether accidental or deliberate", "undetermined"),
])
def test_intent_words_are_icds_words_for_the_intent_said(text: str, words: str) -> None:
    assert intent_words(text) == words


def test_an_intent_said_in_other_words_is_said(tmp_path_factory: pytest.TempPathFactory) -> None:
    """T59.6X4 "Toxic effect of hydrogen sulfide, undetermined" asked "undetermined" of "..., intent unknown",
    and its header T59.6, asking nothing, went first; with ICD-10-CM's word for the intent said, it stays."""
    index = real_index(tmp_path_factory, "sulfide", ("T59.6",))
    text = "toxic effect of hydrogen sulfide, intent unknown"
    at = [index.position[c] for c in ("T59.6X4", "T59.6")]
    for query, first in ((text, "T59.6"), (f"{text} {intent_words(text)}", "T59.6X4")):
        out = prefer_general(at, index.query_words(query), index.qualifiers, lambda i: index.codes[i][:3],
                             index.variants, said=index.said)
        assert index.codes[out[0]] == first


def test_other_specified_asks_no_more_than_other(tmp_path_factory: pytest.TempPathFactory) -> None:
    """S95.299 "Other specified injury of dorsal vein of unspecified foot" is the "other injury of the dorsal
    vein of the foot, side unspecified": its "specified" asked something of the query, and S95.20
    "Unspecified injury of dorsal vein of foot", asking nothing, went first."""
    index = real_index(tmp_path_factory, "veins", ("S95.2",))
    assert "specifi" not in index.qualifiers(index.position["S95.299"])
    query = "other injury to the dorsal vein of the foot, side unspecified"
    at = [index.position[c] for c in ("S95.20", "S95.299")]
    out = prefer_general(at, index.query_words(query), index.qualifiers, lambda i: index.codes[i][:3],
                         index.variants, said=index.said)
    assert index.codes[out[0]] == "S95.299"


def test_a_rival_that_fits_the_named_side_worse_is_no_rival(tmp_path_factory: pytest.TempPathFactory) -> None:
    """"osteoarthritis of both knees": M17.0 "Bilateral primary osteoarthritis of knee" asks "primary", M17.9
    "Osteoarthritis of knee, unspecified" nothing, but names no side: it does not go first."""
    index = real_index(tmp_path_factory, "knees", ("M17",))
    query = "osteoarthritis of both knees"
    at = [index.position[c] for c in ("M17.0", "M17.9")]

    def general(intent: Intent | None) -> str:
        out = prefer_general(at, index.query_words(query), index.qualifiers, lambda i: index.codes[i][:3],
                             index.variants, said=index.said, intent=intent)
        return index.codes[out[0]]

    assert general(parse_intent(query)) == "M17.0"
    assert general(None) == "M17.9"  # without the side, the code asking nothing more
    assert general(parse_intent("osteoarthritis of knees")) == "M17.9"  # no side named


def test_prefer_general_stays_within_its_window(general: LexicalIndex) -> None:
    assert _general(general, "chest pain", ["R07.89", "R52", "R07.9"], window=2) == ["R07.89", "R52", "R07.9"]
    assert _general(general, "chest pain", ["R07.89", "R52", "R07.9"], window=3) == ["R07.9", "R07.89", "R52"]


@pytest.mark.parametrize(("query", "ranked", "expected"), [
    # a description that says exactly the query comes first, across categories ("Pain, unspecified")
    ("pain", ["R07.89", "R07.9", "R52"], ["R52", "R07.89", "R07.9"]),
    ("chest pain on breathing", ["R07.9", "R07.89", "R07.1"], ["R07.1", "R07.9", "R07.89"]),
    # none says exactly the query: nothing moves
    ("sharp pain in the chest", ["R07.89", "R07.9"], ["R07.89", "R07.9"]),
])
def test_prefer_exact_puts_the_exact_description_first(general: LexicalIndex, query: str, ranked: list[str],
                                                        expected: list[str]) -> None:
    at = [general.position[c] for c in ranked]
    out = prefer_exact(at, general.query_words(query), general.qualifiers)
    assert [general.codes[i] for i in out] == expected
    assert prefer_exact(at, general.query_words(query), general.qualifiers, window=1)[0] == at[0]


@pytest.fixture(scope="module")
def named(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """Real meningitis, vitamin deficiency and hepatitis codes, with their inclusion terms."""
    return real_index(tmp_path_factory, "named", ("A39", "G03", "E50", "E55", "E56", "B15", "K75"))


@pytest.mark.parametrize("query, ranked, expected", [
    # "Meningococcal" is not a form of "meningitis" (the stems "mening" / "meningococc" go on with a
    # combining vowel): A39.0 does not say exactly the query.
    ("meningitis", ["A39.0", "G03.9", "G03"], ["G03.9", "G03", "A39.0"]),  # G03: "meningitis NOS"
    # A vitamin named by its letter asks more than "vitamin"; "Hepatitis A NOS" is not hepatitis NOS (K75.9).
    ("vitamin deficiency", ["E50", "E50.9", "E56.9"], ["E56.9", "E50", "E50.9"]),
    ("vitamin d deficiency", ["E50", "E56.9", "E55"], ["E55", "E50", "E56.9"]),
    ("hepatitis", ["B15.9", "K75.9"], ["K75.9", "B15.9"]),
    ("hepatitis a", ["K75.9", "B15.9"], ["B15.9", "K75.9"]),
])
def test_exact_descriptions_keep_apart_compound_and_letter_named_words(named: LexicalIndex, query: str,
                                                                       ranked: list[str], expected: list[str]) -> None:
    at = [named.position[c] for c in ranked]
    words = named.query_words(query)
    qualifiers = exact_wording_qualifiers(at, words, named.qualifiers, named.wording_qualifiers)
    assert [named.codes[i] for i in prefer_exact(at, words, qualifiers)] == expected


def test_a_title_that_says_exactly_the_query_goes_before_an_inclusion_term_that_does(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """"syphilis" is A53.9 "Syphilis, unspecified" (the index: "Syphilis A53.9"), not A52.3 "Neurosyphilis,
    unspecified", whose inclusion term "Syphilis (late) of central nervous system NOS" reaches the synonym
    documents as "Syphilis (late)" (CMS's XML keeps the rest of it apart). Without the titles, the better
    ranked of the two exact codes stays first."""
    index = real_index(tmp_path_factory, "syphilis", ("A52.3", "A53.9"))
    at = [index.position[c] for c in ("A52.3", "A53.9")]
    words = index.query_words("syphilis")
    qualifiers = exact_wording_qualifiers(at, words, index.qualifiers, index.wording_qualifiers)
    assert [index.codes[i] for i in prefer_exact(at, words, qualifiers)] == ["A52.3", "A53.9"]
    assert [index.codes[i] for i in prefer_exact(at, words, qualifiers, title=index.qualifiers)] == ["A53.9", "A52.3"]


def test_letter_named_words_are_one_token_for_steering_only(named: LexicalIndex) -> None:
    assert named.query_words("Vitamin A deficiency, unspecified") >= {"vitamin_a"}
    assert "vitamin" not in named.query_words("Vitamin A deficiency")
    assert named.query_words("Deficiency of vitamin K") >= {"vitamin_k"}
    assert named.query_words("vitamin deficiency") == named.query_words("Vitamin deficiency, unspecified")
    # BM25 reads the text as before: the letter is a stop word there or a token of its own.
    assert "vitamin" in named.tokens("Vitamin A deficiency")


@pytest.fixture(scope="module")
def groups(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """Real codes where a newborn's, a pregnancy's or a congenital code competes with one for anybody:
    diverticulitis (K57, Q43), skin infection (L08, P39), clubfoot (Q66, M21.54), tachypnea (P22, R06),
    gestational diabetes (O24, E11), scoliosis (M41, Q67)."""
    return real_index(tmp_path_factory, "groups", ("K57", "Q43", "L08", "P39", "Q66", "M21.5", "P22", "R06",
                                                   "O24", "E11", "M41", "Q67", "P70", "P02", "O45"))


def _unrestricted(index: LexicalIndex, query: str, ranked: list[str]) -> list[str]:
    at = [index.position[c] for c in ranked]
    out = prefer_unrestricted(at, population_intent(query), index.query_words(query), index.codes.__getitem__,
                              lambda i: (index.said(i), *index.wording_qualifiers(i)))
    return [index.codes[i] for i in out]


@pytest.mark.parametrize("query, ranked, expected", [
    # Q43.8 is found by its inclusion term "Congenital diverticulitis, colon"; the query says no congenital.
    ("diverticulitis", ["Q43.8", "K57.8", "K57.92"], ["K57.8", "Q43.8", "K57.92"]),
    ("congenital diverticulitis", ["Q43.8", "K57.8", "K57.92"], ["Q43.8", "K57.8", "K57.92"]),
    # A chapter 16 code is for newborn records only. The best-ranked rival leads (prefer_general, later,
    # chooses within its category: L08.9 "..., unspecified").
    ("skin infection", ["P39.4", "L08.89", "L08.9"], ["L08.89", "P39.4", "L08.9"]),
    ("skin infection in a newborn", ["P39.4", "L08.9"], ["P39.4", "L08.9"]),
    ("scoliosis", ["Q67.5", "M41.9"], ["M41.9", "Q67.5"]),
    # The other half of the choice is no default: "Acquired clubfoot" asks as much as "Congenital clubfoot".
    ("clubfoot", ["Q66.89", "M21.549"], ["Q66.89", "M21.549"]),
    # No rival says the whole query: R06.82 "Tachypnea, not elsewhere classified" does not say "transient".
    ("transient tachypnea", ["P22.1", "R06.82"], ["P22.1", "R06.82"]),
    # A chapter 15 code for a query that names a pregnancy stays; one that names none gives way.
    ("gestational diabetes", ["O24.419", "E11.9"], ["O24.419", "E11.9"]),
    ("diabetes", ["O24.919", "E11.9"], ["E11.9", "O24.919"]),
    # A newborn's code for a query about a pregnancy: the rival may be for the group the query names.
    ("diabetes in pregnancy", ["P70.1", "O24.919"], ["O24.919", "P70.1"]),
    # ... which says the query's pregnancy by its chapter: O45.9's "Abruptio placentae NOS" says
    # "placental abruption in pregnancy"
    ("placental abruption in pregnancy", ["P02.1", "O45.9"], ["O45.9", "P02.1"]),
    ("placental abruption", ["P02.1", "O45.9"], ["O45.9", "P02.1"]),
    # A code for anybody first: nothing moves.
    ("diverticulitis", ["K57.92", "Q43.8"], ["K57.92", "Q43.8"]),
])
def test_a_code_for_a_group_the_query_does_not_name_gives_way(groups: LexicalIndex, query: str, ranked: list[str],
                                                              expected: list[str]) -> None:
    assert _unrestricted(groups, query, ranked) == expected


def test_population_intent_reads_the_groups_a_query_names() -> None:
    assert population_intent("skin infection") == frozenset()
    assert population_intent("jaundice in a newborn baby") == {"newborn"}
    assert population_intent("UTI in pregnancy, 2nd trimester") == {"maternal"}
    assert population_intent("congenital cataract") == {"congenital"}
    assert population_intent("postpartum depression") == {"maternal"}


@pytest.fixture(scope="module")
def intractable(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """Real migraine (G43) and epilepsy (G40) codes."""
    return real_index(tmp_path_factory, "intractable", ("G43", "G40"))


def test_not_intractable_asks_nothing_and_intractable_does(intractable: LexicalIndex) -> None:
    # "Migraine, unspecified, not intractable, without status migrainosus" says all of "migraine" and no more.
    for code, query in (("G43.909", "migraine"), ("G40.909", "epilepsy")):
        assert says_exactly(intractable.query_words(query), intractable.qualifiers)(intractable.position[code])
    assert "intract" in intractable.qualifiers(intractable.position["G43.919"])  # "..., intractable, ..."
    assert not says_exactly(intractable.query_words("migraine"), intractable.qualifiers)(intractable.position["G43.919"])


@pytest.fixture(scope="module")
def psoriasis(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """Real L40 (psoriasis) and O45 (abruptio placentae) codes, with their inclusion terms."""
    return real_index(tmp_path_factory, "psoriasis", ("L40", "O45"))


@pytest.mark.parametrize("query, ranked, expected", [
    # L40.0's inclusion term "Plaque psoriasis" says exactly what the query says: it comes first, and
    # L40.9 no longer takes its place for asking nothing more than "psoriasis".
    ("plaque psoriasis", ["L40.9", "L40.0", "L40"], ["L40.0", "L40.9", "L40"]),
    ("psoriasis", ["L40.0", "L40.9", "L40"], ["L40.9", "L40", "L40.0"]),  # no synonym is exact: as before
    # "Abruptio placentae NOS" is O45.9's inclusion term, and O45's bracketed synonym: both are exact, and
    # keep their ranked order; a code that is neither gives way to them.
    ("abruptio placentae", ["O45", "O45.9"], ["O45", "O45.9"]),
    ("abruptio placentae", ["O45.8", "O45.9", "O45"], ["O45.9", "O45", "O45.8"]),
])
def test_an_exact_inclusion_term_counts_as_an_exact_description(psoriasis: LexicalIndex, query: str,
                                                                 ranked: list[str], expected: list[str]) -> None:
    at = [psoriasis.position[c] for c in ranked]
    words = psoriasis.query_words(query)
    qualifiers = exact_wording_qualifiers(at, words, psoriasis.qualifiers, psoriasis.wording_qualifiers)
    out = prefer_general(prefer_exact(at, words, qualifiers), words, qualifiers, lambda i: psoriasis.codes[i][:3],
                         psoriasis.variants)
    assert [psoriasis.codes[i] for i in out] == expected
    # With the description's words alone, L40.9 would answer "plaque psoriasis".
    plain = prefer_general(prefer_exact(at, words, psoriasis.qualifiers), words, psoriasis.qualifiers,
                           lambda i: psoriasis.codes[i][:3], psoriasis.variants)
    if query == "plaque psoriasis":
        assert psoriasis.codes[plain[0]] == "L40.9"


def test_a_manifestation_codes_inclusion_terms_keep_its_context(tmp_path_factory: pytest.TempPathFactory) -> None:
    """N16 "Renal tubulo-interstitial disorders in diseases classified elsewhere" lists "Pyelonephritis"
    (ICD-10-CM: pyelonephritis in diseases classified elsewhere): it is not an exact wording of
    "pyelonephritis", whose code is N12 ("Pyelonephritis NOS")."""
    index = real_index(tmp_path_factory, "manifestation", ("N12", "N16"))
    at = [index.position[c] for c in ("N16", "N12")]
    words = index.query_words("pyelonephritis")
    assert "Pyelonephritis" in index._synonyms_by_code["N16"]
    qualifiers = exact_wording_qualifiers(at, words, index.qualifiers, index.wording_qualifiers)
    assert [index.codes[i] for i in prefer_exact(at, words, qualifiers)] == ["N12", "N16"]
    assert words not in index.wording_qualifiers(at[0])  # no N16 wording says only "pyelonephritis"


@pytest.mark.parametrize("description, expected", [
    ("Syncope and collapse", ["collapse", "Syncope"]),
    ("Malignant neoplasm of bronchus and lung", ["Malignant neoplasm of lung", "Malignant neoplasm of bronchus"]),
    ("Fall due to ice and snow", ["Fall due to snow", "Fall due to ice"]),
    # "heart" is qualified by "Hypertensive": the conjuncts are "heart [disease]" and "chronic kidney disease".
    ("Hypertensive heart and chronic kidney disease with heart failure", []),
    ("Strain of muscle and tendon at wrist and hand level", ["Strain of tendon at wrist and hand level",
                                                           "Strain of muscle at wrist and hand level"]),
    ("Type 2 diabetes mellitus without complications", []),
])
def test_and_means_and_or(description: str, expected: list[str]) -> None:
    assert and_variants(description) == expected


@pytest.fixture(scope="module")
def conventions(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """Real codes whose titles use ICD-10-CM's conventions: R55 "Syncope and collapse" (beside F48.8, whose
    inclusion term is "Psychogenic syncope"), C34, K76.0 "Fatty (change of) liver, not elsewhere classified"
    (beside K70.0 "Alcoholic fatty liver"), J00 "Acute nasopharyngitis [common cold]" (beside T48.5X5A, an
    adverse effect of anti-common-cold drugs) and the K80.2 gallstone codes."""
    return real_index(tmp_path_factory, "conventions", ("R55", "F48", "C34", "K70", "K76", "J00", "T48.5", "K80.2"))


@pytest.mark.parametrize("query, ranked, expected", [
    # "Syncope and collapse" says syncope, by ICD-10-CM's "and/or": it comes before the code whose
    # inclusion term asks "psychogenic" too.
    ("syncope", ["F48.8", "R55"], ["R55", "F48.8"]),
    ("collapse", ["F48.8", "R55"], ["R55", "F48.8"]),
    ("malignant neoplasm of lung", ["C34.91", "C34"], ["C34", "C34.91"]),
    # C34.90 "... of unspecified part of unspecified bronchus or lung" says no more than C34.9 and C34, so
    # their wordings are its own: it says "malignant neoplasm of lung" too; C34.91 asks "right".
    ("malignant neoplasm of lung", ["C34.91", "C34.90"], ["C34.90", "C34.91"]),
    ("psychogenic syncope", ["R55", "F48.8"], ["F48.8", "R55"]),  # the inclusion term is exact
    # Parentheses hold nonessential modifiers, and "not elsewhere classified" asks nothing.
    ("fatty liver", ["K70.0", "K76.0"], ["K76.0", "K70.0"]),
    ("fatty change of liver", ["K70.0", "K76.0"], ["K76.0", "K70.0"]),
    # Brackets hold a synonym: here of the whole title.
    ("common cold", ["T48.5X5A", "J00"], ["J00", "T48.5X5A"]),
    ("acute nasopharyngitis", ["T48.5X5A", "J00"], ["J00", "T48.5X5A"]),
])
def test_a_title_with_and_says_either_part(conventions: LexicalIndex, query: str, ranked: list[str],
                                           expected: list[str]) -> None:
    at = [conventions.position[c] for c in ranked]
    words = conventions.query_words(query)
    qualifiers = exact_wording_qualifiers(at, words, conventions.qualifiers, conventions.wording_qualifiers)
    assert [conventions.codes[i] for i in prefer_exact(at, words, qualifiers)] == expected


@pytest.mark.parametrize("description, expected", [
    ("Fatty (change of) liver, not elsewhere classified", ["Fatty liver, not elsewhere classified"]),
    ("Acute nasopharyngitis [common cold]", ["Acute common cold", "Acute nasopharyngitis", "common cold"]),
    ("Anogenital herpesviral [herpes simplex] infections",
     ["Anogenital herpes simplex infections", "Anogenital herpesviral infections"]),
    ("Syncope and collapse", ["collapse", "Syncope"]),
    # "(unintentional)" stays with "accidental"; a title with no convention to read has no other wording.
    ("Toxic effect of carbon dioxide, accidental (unintentional)", []),
    ("Type 2 diabetes mellitus without complications", []),
])
def test_wordings_read_the_conventions(description: str, expected: list[str]) -> None:
    assert wordings(description) == expected


def test_a_without_clause_ends_at_a_with_clause(conventions: LexicalIndex) -> None:
    """"Calculus of gallbladder without cholecystitis with obstruction" asks for an obstruction: "gallstones"
    (ICD-10-CM's calculus of gallbladder) is K80.20, whose "without" clauses ask nothing."""
    ranked = [conventions.position[c] for c in ("K80.21", "K80.20")]
    words = conventions.query_words("calculus of gallbladder")
    assert conventions.qualifiers(ranked[0]) - words == {"obstruct"}
    assert conventions.qualifiers(ranked[1]) <= words
    out = prefer_general(ranked, words, conventions.qualifiers, lambda i: conventions.codes[i][:3],
                         conventions.variants)
    assert [conventions.codes[i] for i in out] == ["K80.20", "K80.21"]


@pytest.mark.parametrize("description, kept", [
    # "without foreign body" ends there: the site after it is asked
    ("Laceration without foreign body of scalp, initial encounter", "Laceration   of scalp"),
    ("Laceration without foreign body of right thumb without damage to nail", "Laceration   of right thumb"),
    ("Laceration with foreign body of scalp", "Laceration with foreign body of scalp"),
    # "unspecified as ...", "not specified as ..." say what the record does not say
    ("Gastric ulcer, unspecified as acute or chronic, without hemorrhage or perforation", "Gastric ulcer,  ,"),
    ("Unspecified rotator cuff tear or rupture of right shoulder, not specified as traumatic",
     "Unspecified rotator cuff tear or rupture of right shoulder,"),
    # a "without" clause ends before a trimester or a side after a comma, not inside a list
    ("Gestational [pregnancy-induced] hypertension without significant proteinuria, third trimester",
     "Gestational [pregnancy-induced] hypertension , third trimester"),
    ("Dementia in other diseases classified elsewhere, unspecified severity, without behavioral disturbance, "
     "psychotic disturbance, mood disturbance, and anxiety", "Dementia in other diseases classified elsewhere, ,"),
    # nonessential modifiers ask nothing; "other specified" no more than "other"
    ("Bathroom of unspecified non-institutional (private) residence as the place of occurrence of the external cause",
     "Bathroom of unspecified non-institutional residence as the place of occurrence of the external cause"),
    ("Other specified injury of dorsal vein of unspecified foot", "other injury of dorsal vein of unspecified foot"),
])
def test_what_a_title_says_unasked_is_left_out(description: str, kept: str) -> None:
    assert " ".join(qualifier_text(description).split()) == " ".join(kept.split())


def test_a_laceration_without_foreign_body_keeps_its_site(general: LexicalIndex) -> None:
    """"scalp laceration" is S01.01XA "Laceration without foreign body of scalp", not S01.02XA "... with
    foreign body": the "without" clause no longer swallows "of scalp"."""
    ranked = [general.position[c] for c in ("S01.02XA", "S01.01XA")]
    out = prefer_general(ranked, general.query_words("scalp laceration"), general.qualifiers,
                         lambda i: general.codes[i][:3], general.variants)
    assert [general.codes[i] for i in out] == ["S01.01XA", "S01.02XA"]


@pytest.fixture(scope="module")
def poisoning(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """Real T63.44- (bee venom) and T39.01- (aspirin) codes: one code per intent, each with three encounters."""
    return real_index(tmp_path_factory, "poisoning", ("T63.44", "T39.01"))


@pytest.mark.parametrize("query, ranked, expected", [
    # No intent named: accidental, as ICD-10-CM codes an undocumented intent.
    ("toxic effect of venom of bees", ["T63.444A", "T63.441A"], "T63.441A"),
    ("poisoning by aspirin", ["T39.013A", "T39.014A", "T39.011A"], "T39.011A"),
    # An intent named, in any words: the ranking stands.
    ("poisoning by aspirin, suicide attempt", ["T39.012A", "T39.011A"], "T39.012A"),
    ("poisoning by aspirin, undetermined", ["T39.014A", "T39.011A"], "T39.014A"),
    ("assaulted with aspirin poisoning", ["T39.013A", "T39.011A"], "T39.013A"),
])
def test_accidental_is_the_default_intent(poisoning: LexicalIndex, query: str, ranked: list[str],
                                          expected: str) -> None:
    at = [poisoning.position[c] for c in ranked]
    words, named = poisoning.query_words(query), named_defaults(query)
    out = prefer_general(at, words, lambda i: poisoning.qualifiers(i, named), lambda i: poisoning.codes[i][:3],
                         poisoning.variants)
    assert poisoning.codes[out[0]] == expected


@pytest.mark.parametrize("query, named", [
    ("diabetic foot ulcer", frozenset()),
    ("type 1 diabetes mellitus with foot ulcer", {"diabetes type"}),  # "T1DM", once expanded
    ("drug induced diabetes", {"diabetes type"}),
    ("diabetes in pregnancy", {"diabetes type"}),
    ("aspirin overdose, suicide attempt", {"intent"}),
    ("metastatic malignant neoplasm of liver", {"neoplasm origin"}),
    ("family history of malignant neoplasm", frozenset()),
    ("chronic DVT", {"chronicity"}),
    ("blood clot in leg", frozenset()),
])
def test_named_defaults(query: str, named: set[str]) -> None:
    assert named_defaults(query) == named


def test_a_venous_thrombosis_is_acute_unless_the_query_says(tmp_path_factory: pytest.TempPathFactory) -> None:
    """ICD-10-CM's index codes a deep vein thrombosis of no named chronicity as acute (I82.40-): "deep vein
    thrombosis of lower extremity" says all that I82.4 "Acute embolism and thrombosis of deep veins of lower
    extremity" asks but "embolism", and its "chronic" sibling asks more; "chronic ..." keeps I82.5."""
    index = real_index(tmp_path_factory, "thromboses", ("I82.4", "I82.5"))
    at = [index.position[c] for c in ("I82.5", "I82.4")]

    def first(query: str) -> str:
        named = named_defaults(query)
        out = prefer_general(at, index.query_words(query), lambda i: index.qualifiers(i, named),
                             lambda i: index.codes[i][:3], index.variants)
        return index.codes[out[0]]

    assert "acute" not in qualifier_text("Acute embolism and thrombosis of deep veins of lower extremity")
    assert first("deep vein thrombosis of lower extremity") == "I82.4"
    assert first("chronic deep vein thrombosis of lower extremity") == "I82.5"


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """Real diabetes codes of every type: E08 (underlying condition), E09 (drug induced), E10, E11, E13."""
    return real_index(tmp_path_factory, "diabetes", ("E08.6", "E09.6", "E10.6", "E11.6", "E13.6", "E11.9", "E13.9"))


@pytest.mark.parametrize("query, ranked, expected", [
    # No type named: the type 2 counterpart of the best-ranked code of another type answers.
    ("diabetic foot ulcer", ["E13.621", "E10.621"], ["E11.621", "E13.621", "E10.621"]),
    ("diabetes with foot ulcer", ["E08.621", "E11.621", "E13.621"], ["E11.621", "E08.621", "E13.621"]),
    # A type named: the ranking stands.
    ("type 1 diabetes mellitus with foot ulcer", ["E10.621", "E13.621"], ["E10.621", "E13.621"]),
])
def test_diabetes_type_defaults_to_type_2(diabetes: LexicalIndex, query: str, ranked: list[str],
                                          expected: list[str]) -> None:
    at = [diabetes.position[c] for c in ranked]
    out = prefer_default_type(at, named_defaults(query), diabetes.codes, diabetes.position, lambda i: True)
    assert [diabetes.codes[i] for i in out] == expected
    # Nor is a counterpart that may not be answered (--billable-only, --category) brought in.
    kept = prefer_default_type(at, named_defaults(query), diabetes.codes, diabetes.position, lambda i: i in at)
    assert [diabetes.codes[i] for i in kept] == [c for c in expected if c in ranked]


def test_type_2_asks_nothing_of_a_query_that_names_no_type(diabetes: LexicalIndex) -> None:
    """"diabetes" is E11.9: its "type 2" is the default; E13.9 "Other specified ..." asks more."""
    e11, e13 = diabetes.position["E11.9"], diabetes.position["E13.9"]
    words = diabetes.query_words("diabetes")
    assert diabetes.qualifiers(e11) == words and diabetes.qualifiers(e13) - words
    assert diabetes.qualifiers(e11, frozenset({"diabetes type"})) - words == {"type", "2"}
    assert [diabetes.codes[i] for i in prefer_exact([e13, e11], words, diabetes.qualifiers)] == ["E11.9", "E13.9"]


def test_default_words_ask_nothing(lexical: LexicalIndex) -> None:
    # "diabetes" says diabetes mellitus: E11.9 asks nothing more than "diabetes type 2", E11.8 does.
    at = [lexical.position[c] for c in ("E11.8", "E11.9")]
    words = lexical.query_words("diabetes type 2")
    assert lexical.query_words("type 2 diabetes mellitus") == words
    out = prefer_general(at, words, lexical.qualifiers, lambda i: lexical.codes[i][:3], lexical.variants)
    assert [lexical.codes[i] for i in out] == ["E11.9", "E11.8"]


def test_expansions_are_never_corrected(lexical: LexicalIndex) -> None:
    expander = default_expander()
    expanded = expander.expand("BV")
    assert expanded == "bacterial vaginitis" and {"bacterial", "vaginitis"} <= expander.protected
    # A word ICD-10-CM never uses is "corrected" to one it does, unless an expansion wrote it.
    assert lexical.correct("hypertensoin") != "hypertensoin"
    assert lexical.correct("hypertensoin", frozenset({"hypertensoin"})) == "hypertensoin"


def test_qualifiers_leave_out_what_a_query_need_not_say(general: LexicalIndex) -> None:
    words = general.qualifiers(general.position["K29.70"])  # Gastritis, unspecified, without bleeding
    assert "gastriti" in words and not words & {"unspecifi", "bleed", "without"}
    sprain = general.qualifiers(general.position["S93.401A"])
    assert not sprain & {"initi", "encount"}
    assert fold("Boutonnière deformity") == "Boutonniere deformity"


@pytest.mark.parametrize(("text", "intent"), [
    ("history of breast cancer", "personal"), ("past medical history of TB", "personal"),
    ("family history of colon cancer", "family"), ("family medical history of diabetes", "family"),
    ("breast cancer", ""), ("historic fracture", ""),
])
def test_history_intent(text: str, intent: str) -> None:
    assert history_intent(text) == intent


def _history(query: str, ranked: list[str], window: int = 10) -> list[str]:
    codes = default_code_set()
    described = {c: codes.get(c).description for c in ranked}  # type: ignore[union-attr]
    out = prefer_history(list(range(len(ranked))), history_intent(query), lambda i: described[ranked[i]], window)
    return [ranked[i] for i in out]


@pytest.mark.parametrize(("query", "ranked", "expected"), [
    # a personal history is a Z85/Z86/Z87 code or "Old ...", ahead of the present disease, in ranked order
    ("history of breast cancer", ["C50.919", "Z80.3", "Z85.3"], ["Z85.3", "C50.919", "Z80.3"]),
    ("history of MI", ["I21.9", "I25.2", "Z86.79"], ["I25.2", "Z86.79", "I21.9"]),
    ("history of falls", ["W19.XXXA", "Z91.81"], ["Z91.81", "W19.XXXA"]),
    # a family history: the Z80-Z84 code first, a personal one to the end of the window
    ("family history of breast cancer", ["Z85.3", "C50.919", "Z80.3"], ["Z80.3", "C50.919", "Z85.3"]),
    # no history code among the ranked: only the other kind moves back ("history of asthma" is asthma)
    ("history of asthma", ["Z82.5", "J45.909"], ["J45.909", "Z82.5"]),
    # no history in the query: nothing moves
    ("breast cancer", ["C50.919", "Z85.3"], ["C50.919", "Z85.3"]),
])
def test_prefer_history_answers_a_history_with_a_history_code(query: str, ranked: list[str],
                                                               expected: list[str]) -> None:
    assert _history(query, ranked) == expected


def test_prefer_history_stays_within_its_window() -> None:
    # "hx of HTN": a history code ranked far down is not pulled up over the chronic condition
    assert _history("history of hypertension", ["I10", "I1A.0", "Z86.79"], window=2) == ["I10", "I1A.0", "Z86.79"]
    assert _history("history of hypertension", ["I10", "I1A.0", "Z86.79"], window=3) == ["Z86.79", "I10", "I1A.0"]


# ------------------------------------------------------------------------------------------------ lexical


def test_lexical_scores_equal_bm25s(lexical: LexicalIndex) -> None:
    import bm25s
    import Stemmer

    reference = bm25s.BM25.load(str(lexical.directory))
    stopwords = json.loads((lexical.directory / "meta.json").read_text())["stopwords"]
    for text in ("high blood pressure", "sprain of the left ankle, subsequent encounter", "type 2 diabetes", "zzz"):
        tokens = bm25s.tokenize([text], stopwords=stopwords, stemmer=Stemmer.Stemmer("english"),
                                token_pattern=TOKEN_PATTERN, return_ids=False, show_progress=False)[0]
        assert lexical.tokens(text) == tokens
        expected = reference.get_scores(tokens) if tokens else np.zeros(len(lexical.doc_code))
        np.testing.assert_allclose(lexical.document_scores(text), expected, rtol=1e-6)


@pytest.fixture(scope="module")
def veins(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """Real I83 (varicose veins) and I87 (other disorders of veins, venous insufficiency) codes."""
    return real_index(tmp_path_factory, "veins", ("I83", "I87"))


def test_a_word_form_scores_by_the_best_of_its_forms(veins: LexicalIndex) -> None:
    import bm25s

    reference = bm25s.BM25.load(str(veins.directory))
    # "venous" and "vein" are one row of data/word_forms.csv: each counts once, by the better of the two
    expected = np.maximum(reference.get_scores(["venous"]), reference.get_scores(["vein"])) + reference.get_scores(["disord"])
    np.testing.assert_allclose(veins.document_scores("venous disorders"), expected, rtol=1e-6)
    np.testing.assert_allclose(veins.document_scores("disorders of veins"), expected, rtol=1e-6)
    assert veins.codes[veins.top_codes("other venous disorders", 1)[0][0]] == "I87"  # "Other disorders of veins"
    assert (reference.get_scores(["venous"]) > 0).any() and (reference.get_scores(["vein"]) > 0).any()


def test_word_forms_are_well_formed_and_keep_inflammations_apart() -> None:
    import Stemmer

    rows = load_word_forms()
    assert len(rows) >= 50 and len(set(rows)) == len(rows)
    assert all(re.fullmatch(r"[a-z]+", word) for row in rows for word in row)
    # The stemmer makes "hepat" of both "hepatic" and "hepatitis": a row with such an adjective would make
    # hepatitis a word for the liver. No form may share its stem with an "-itis" word of ICD-10-CM.
    stem = Stemmer.Stemmer("english").stemWord
    inflammations = {stem(w) for c in default_code_set() for w in re.findall(r"[a-z]+itis\b", c.description.lower())}
    assert not {stem(word) for row in rows for word in row} & inflammations
    assert stem("hepatitis") in inflammations


def test_a_code_scores_by_its_best_document_and_appears_once(lexical: LexicalIndex) -> None:
    top = lexical.top_codes("high blood pressure", 5)
    codes = [lexical.codes[i] for i, _ in top]
    assert codes[0] == "I10"  # only its inclusion term says "high blood pressure"
    assert len(codes) == len(set(codes))
    assert [s for _, s in top] == sorted((s for _, s in top), reverse=True)


def test_allowed_mask_limits_the_lexical_ranking(lexical: LexicalIndex) -> None:
    allowed = np.array([c.startswith("E11") for c in lexical.codes])
    assert all(lexical.codes[i].startswith("E11") for i, _ in lexical.top_codes("diabetes hypertension", 20, allowed))


@pytest.mark.parametrize("text, fixed", [
    ("hypertention", "hypertension"),
    ("diabetis type 2", "diabetes type 2"),
    ("sprain of rigth ankle", "sprain of right ankle"),
    ("sprained ankle", "sprained ankle"),  # a form of a known word is left alone
    ("xylophone", "xylophone"),  # nothing close: left alone
    ("diabetic macular oedema", "diabetic macular edema"),  # British: no edit distance of 1 reaches it
    ("four", "four"),  # its "US spelling" would be "for"
    ("tumour", "tumour"),  # these codes never say "tumor": a US spelling is taken only if the index knows it
])
def test_spelling_correction(lexical: LexicalIndex, text: str, fixed: str) -> None:
    assert lexical.correct(text) == fixed


@pytest.fixture(scope="module")
def compounds(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """Real codes that write as one word what people write as two: frostbite (T33), gallbladder (K82), and
    codes whose words are each known alone: heart failure (I50), a bite of the lip (S00.57)."""
    return real_index(tmp_path_factory, "compounds", ("T33", "K82", "I50", "S00.57"))


@pytest.mark.parametrize("text, fixed", [
    ("superficial frost bite", "superficial frostbite"),  # else "frost" was "corrected" to "front"
    ("frost-bite of left hand", "frostbite of left hand"),
    ("other gall bladder disease", "other gallbladder disease"),  # "bladder" alone is known: "gall" is not
    ("heart failure", "heart failure"),  # both words known: apart
    ("bite of lip", "bite of lip"),
    ("gall", "gall"),  # nothing to join with
])
def test_words_written_apart_are_joined_where_icd_writes_one(compounds: LexicalIndex, text: str, fixed: str) -> None:
    assert compounds.correct(text) == fixed


def test_a_hyphenated_word_icd_writes_is_known_whole_and_left_alone(tmp_path_factory: pytest.TempPathFactory) -> None:
    """I69.353 says "right non-dominant side", G81.93 "right nondominant side". A query's "non-dominant" keeps
    its words: "corrected" to a word that no longer said "non", I69.351 "right dominant side" could answer
    it. (An index whose word list split hyphenated words, written once by a name clash in lexical.py,
    did exactly that.)"""
    index = real_index(tmp_path_factory, "hyphens", ("I69.35", "G81.9"))
    assert "non-dominant" in index.word_counts and index.known("non-dominant")
    said = index.tokens("hemiplegia affecting right non-dominant side")
    assert index.tokens(index.correct("hemiplegia affecting right non-dominant side")) == said
    # "non" alone is no word of the index (its "non-" prefixes are read joined): "non dominant" is joined too
    assert index.correct("right non dominant side") == "right nondominant side"


def test_non_hyphen_or_not_reads_the_same(tmp_path_factory: pytest.TempPathFactory) -> None:
    """ICD-10-CM writes "non-dominant" (I69.35-) and "nondominant" (G81.9-). Read apart, "left nondominant"
    left "non" of I69.354 unsaid and I69.352 "left dominant side" answered it; both spellings are now one
    token, in the index and in a query. "non-ST" (short) stays two words."""
    index = real_index(tmp_path_factory, "hyphens", ("I69.35", "G81.9"))
    assert index.tokens("non-dominant") == index.tokens("nondominant") == index.tokens("Non-dominant")
    assert index.tokens("non-ST elevation") == ["non", "st", "elev"]
    for query, code in (("hemiplegia following cerebral infarction affecting left nondominant side", "I69.354"),
                        ("hemiplegia following cerebral infarction affecting left non-dominant side", "I69.354"),
                        ("hemiplegia affecting right non-dominant side", "G81.93")):
        top = [index.codes[i] for i, _ in index.top_codes(query, 3)]
        assert code in top and not any(c in top[:top.index(code)] for c in ("I69.352", "I69.351", "G81.91")), top


def test_a_clipped_word_is_not_corrected_into_another(tmp_path_factory: pytest.TempPathFactory) -> None:
    """"polio" is no misspelling of "polo" (Y93.13 "Activity, water polo"): it begins "poliomyelitis" (A80),
    so it is left as written; a misspelling still is corrected."""
    index = real_index(tmp_path_factory, "clipped", ("A80", "Y93.1"))
    assert index.begins("polio") and not index.begins("poliomyelitis") and not index.known("polio")
    assert index.correct("acute polio") == "acute polio"
    assert index.correct("acute poliomielitis") == "acute poliomyelitis"


def test_common_english_words_are_never_corrected(tmp_path_factory: pytest.TempPathFactory) -> None:
    """"hurt" is no misspelling of "hurst" (ICD-10-CM's Hurst disease), "could" none of "cold": words of
    data/common_words.txt are left for the model; a real misspelling still is corrected. An 8- or 9-letter
    word takes one edit at most: "thiazide" is no "thiamine"."""
    from icdsearch.shorthand import load_common_words, never_corrected

    index = real_index(tmp_path_factory, "common", ("G36.1", "J00", "E51", "E11.9", "T50.2"))
    common = load_common_words()
    assert {"hurt", "could"} <= common and "hurst" not in common and len(common) > 2000
    assert index.correct("hurt") == "hurst" and index.correct("could") == "cold"  # without the list
    assert index.correct("bus occupant hurt, could not walk", never_corrected()) == "bus occupant hurt, could not walk"
    assert index.correct("diabetis", never_corrected()) == "diabetes"
    assert index.correct("thiazide diuretic poisoning") == "thiazide diuretic poisoning"


def test_the_common_word_list_is_what_the_bundled_vocabulary_gives() -> None:
    script = Path(__file__).parent.parent / "scripts" / "common_words.py"
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_age_related_and_senile_are_one_token(tmp_path_factory: pytest.TempPathFactory) -> None:
    """ICD-10-CM's newer titles say "age-related" (M81.0 "Age-related osteoporosis ..."), its older ones
    "senile" (H02.03- "Senile entropion"): "age-related entropion" finds the senile one, in BM25 and
    steering alike."""
    index = real_index(tmp_path_factory, "senile", ("H02.0", "M81.0"))
    assert index.tokens("age-related entropion") == index.tokens("Age related entropion") == index.tokens("senile entropion")
    top = [index.codes[i] for i, _ in index.top_codes("age-related entropion of left lower eyelid", 3)]
    assert top[0] == "H02.035", top


def test_a_compound_part_written_by_an_expansion_is_not_joined(compounds: LexicalIndex) -> None:
    # "bite" is known (S00.57), "frost" is not: only an expansion's "frost" stays
    assert compounds.join_compounds("frost bite", frozenset({"frost"})) == "frost bite"
    assert compounds.join_compounds("frost bite", frozenset({"bite"})) == "frostbite"


@pytest.mark.parametrize("word, spellings", [
    ("anaemia", ["anemia"]), ("haemorrhages", ["hemorrhages"]), ("oesophageal", ["esophageal"]),
    ("diarrhoea", ["diarrhea"]), ("foetal", ["fetal"]), ("tumour", ["tumor"]), ("goitre", ["goiter"]),
    ("hospitalisation", ["hospitalization"]), ("paralysed", ["paralyzed"]), ("hour", ["hor"]),
    ("anaesthetised", ["anesthetized", "anesthetised", "anaesthetized"]), ("edema", []), ("spore", []),
])
def test_us_spellings(word: str, spellings: list[str]) -> None:
    assert us_spellings(word) == spellings


def test_accent_free_words_find_accented_descriptions(tmp_path: Path) -> None:
    """ICD-10-CM writes "Ménière's disease" and "Sjögren syndrome"; people type neither accent. Without
    folding, "menieres" was unknown to the index and "corrected" to "meninges" (tuberculous meningitis)."""
    codes = default_code_set().subset(lambda c: c.code.startswith(("H81.0", "M35.0", "A17.0", "G96.1")), "accents")
    build_index(tmp_path / codes.version, codes, synonyms(codes))
    index = LexicalIndex.load(tmp_path / codes.version)
    assert index.correct("menieres disease") == "menieres disease"
    assert index.codes[index.top_codes("menieres disease", 1)[0][0]].startswith("H81.0")
    assert index.codes[index.top_codes("sjogren syndrome", 1)[0][0]].startswith("M35.0")
    assert index.document_scores("Ménière").max() == index.document_scores("meniere").max() > 0


def test_building_the_lexical_index_is_quiet(ankle_codes: CodeSet, tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    """bm25s logs at DEBUG; once anything has configured logging, an ingest would print its notes."""
    caplog.set_level(logging.DEBUG)
    build_index(tmp_path / "index", ankle_codes, synonyms(ankle_codes))
    assert not [r for r in caplog.records if r.name.startswith("bm25s")]


def test_index_ready_and_unreadable_index(lexical: LexicalIndex, ankle_codes: CodeSet, tmp_path: Path) -> None:
    assert index_ready(lexical.directory, ankle_codes.version)
    assert not index_ready(lexical.directory, "another-version")
    import shutil

    partial = tmp_path / "partial"
    shutil.copytree(lexical.directory, partial)
    (partial / "descriptions.txt").unlink()  # what `icdsearch ingest` must then rebuild
    assert not index_ready(partial, ankle_codes.version)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "meta.json").write_text("{not json")
    with pytest.raises(StoreError, match="icdsearch ingest"):
        LexicalIndex.load(broken)


# ------------------------------------------------------------------------------------------------ modes


def test_modes_and_ablation_configurations() -> None:
    assert resolve_mode(None) == MODES["hybrid"] == Pipeline()
    assert resolve_mode("dense").dense_only and not resolve_mode("hybrid").dense_only
    with pytest.raises(BadQuery, match="unknown mode"):
        resolve_mode("sparse")
    assert resolve_mode("hybrid", ["lexical", "steering"]) == Pipeline(lexical=False, steering=False)
    assert resolve_mode(None, ["synonyms", "lexical", "abbreviations", "steering"]).dense_only
    with pytest.raises(BadQuery, match="--without takes"):
        resolve_mode(None, ["rerank"])
    labels = [label for label, _ in ABLATION]
    assert labels[0].startswith("dense") and labels[-1].startswith("all")
    assert ABLATION[-1][1] == MODES["hybrid"]


# ------------------------------------------------------------------------------------------------ integration


@pytest.fixture
def hashed_store(ankle_codes: CodeSet, tmp_path: Path) -> dict:
    store = tmp_path / "store"
    report = ingest(HASH, ankle_codes, store=str(store))
    assert report.synonyms == len(synonyms(ankle_codes)) > 0 and report.lexical_built
    return {"model": HASH, "codes": ankle_codes, "store": str(store)}


def test_ingest_writes_synonyms_and_the_lexical_index(hashed_store: dict, ankle_codes: CodeSet) -> None:
    store = as_store(hashed_store["store"])
    main = store.info(f"hash-bow-256--{ankle_codes.version}")
    companion = store.info(synonym_collection_name(main.name))
    assert companion.count == len(synonyms(ankle_codes)) and companion.complete
    assert companion.metadata["role"] == "synonyms"
    assert index_ready(lexical_dir(store, ankle_codes.version), ankle_codes.version)
    again = ingest(HASH, ankle_codes, store=hashed_store["store"])
    assert again.embedded == 0 and not again.lexical_built


def test_hybrid_finds_a_lay_term_through_its_inclusion_term(hashed_store: dict) -> None:
    hits = search("high blood pressure", k=5, **hashed_store)
    assert hits[0].code == "I10" and hits[0].matched == "high blood pressure"
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert len({h.code for h in hits}) == len(hits)
    dense = search("high blood pressure", k=5, mode="dense", **hashed_store)
    assert all(not h.matched for h in dense)


def test_hybrid_hits_show_what_the_store_holds(hashed_store: dict, ankle_codes: CodeSet) -> None:
    """Hybrid hits read descriptions and matched synonyms from the lexical index's copy, not from Chroma:
    they must be the very text and metadata the store has, with distances that are real squared L2."""
    store = as_store(hashed_store["store"])
    name = f"hash-bow-256--{ankle_codes.version}"
    main, companion = store.open(name), store.open(synonym_collection_name(name))
    queries = ["high blood pressure", "sprained left ankle, subsequent", "asthma", "ankle sprain", "cholera"]
    # A shallow dense ranking (depth 3): most of the 10 answers come from BM25 alone and need the stored
    # vector for their distance. Abbreviations off: the dense reference embeds the query as written.
    shallow, deep = Pipeline(abbreviations=False, depth=3), Pipeline(abbreviations=False)
    answers = search_many(queries, k=10, mode=shallow, **hashed_store) + search_many(queries, k=10, mode=deep, **hashed_store)
    dense_answers = search_many(queries, k=len(ankle_codes), mode="dense", **hashed_store) * 2
    assert any(h.matched for hits in answers for h in hits)
    for hits, dense_hits in zip(answers, dense_answers):
        exact = {h.code: h for h in dense_hits}  # the dense answer over every code: the store's own view
        for hit in hits:
            code = ankle_codes.get(hit.code)
            assert (hit.description, hit.billable, hit.category, hit.chapter) == (
                code.description, code.billable, code.category, code.chapter)
            if hit.matched:
                stored = companion._collection.get(where={"code": hit.code}, include=["documents"])["documents"]
                assert hit.matched in stored
                assert hit.distance >= 0
            elif hit.code in exact:
                assert hit.distance == pytest.approx(exact[hit.code].distance, abs=1e-4)
    assert main.count() == len(ankle_codes)


def test_a_searcher_reads_a_query_as_hybrid_retrieval_does(hashed_store: dict) -> None:
    from icdsearch import Searcher

    searcher = Searcher(hashed_store["model"], hashed_store["codes"], hashed_store["store"])
    assert searcher.read("T2DM w/o complications") == "type 2 diabetes mellitus without complications"
    assert searcher.read("hypertention") == "hypertension"
    assert searcher.read("E11.9") == "E11.9"
    dense = Searcher(hashed_store["model"], hashed_store["codes"], hashed_store["store"], mode="dense")
    assert dense.read("T2DM w/o complications") == "T2DM w/o complications"
    with pytest.raises(BadQuery):
        searcher.read("  ")


def test_hybrid_expands_shorthand_and_steers(hashed_store: dict) -> None:
    assert search("T2DM w/o complications", k=3, **hashed_store)[0].code == "E11.9"
    assert search("sprained left ankle, f/u", k=3, **hashed_store)[0].code == "S93.402D"
    assert search("rt knee pain", k=3, **hashed_store)[0].code == "M25.561"


@pytest.mark.parametrize("text, read", [
    ("hit by car", "pedestrian injured in collision with car"),  # no mode of transport said: a pedestrian
    ("pedestrian hit by a car", "pedestrian injured in collision with car"),
    ("child was run over by a truck", "child pedestrian injured in collision with truck"),
    ("cyclist struck by the bus", "cyclist injured in collision with bus"),
    ("car driver knocked over by a pickup truck", "car driver injured in collision with pickup truck"),
    ("hit by a ball", "hit by a ball"),  # not a vehicle
    ("struck by lightning", "struck by lightning"),
    ("hit by cardiac arrest", "hit by cardiac arrest"),  # "car" only as a whole word
])
def test_who_was_hit_by_what_is_read_as_icd_writes_a_collision(text: str, read: str) -> None:
    assert collision_reading(text) == read


@pytest.mark.parametrize("text, read", [
    ("closed fracture of right hip initial", "closed fracture of neck of right femur initial"),
    ("left hip fracture", "fracture of neck of left femur"),
    ("fractured hip", "fracture of neck of femur"),
    ("fracture of the left hip, subsequent", "fracture of neck of left femur, subsequent"),
    ("pathological fracture of hip", "pathological fracture of hip"),  # M84.459 says "hip"
    ("stress fracture, left hip", "stress fracture, left hip"),
    ("periprosthetic fracture around prosthetic right hip", "periprosthetic fracture around prosthetic right hip"),
    ("right hip pain", "right hip pain"),
])
def test_a_hip_fracture_is_a_fracture_of_the_neck_of_the_femur(text: str, read: str) -> None:
    assert hip_fracture_reading(text) == read


@pytest.mark.parametrize("text, read", [
    ("tripped and fell", "fall on same level from slipping, tripping and stumbling"),
    ("slipped and fell in the bathroom", "fall on same level from slipping, tripping and stumbling in the bathroom"),
    ("tripped over the dog and fell", "fall on same level from slipping, tripping and stumbling"),
    ("slipped on ice", "fall due to ice and snow"),
    ("fell on the icy sidewalk", "fall due to ice and snow"),
    ("fell off a chair", "fall off a chair"),
    ("tripped but did not fall", "slipping, tripping and stumbling without falling"),  # W18.4-
    ("stumbled without falling", "slipping, tripping and stumbling without falling"),
    ("slipped disc", "slipped disc"),
    ("slipped capital femoral epiphysis", "slipped capital femoral epiphysis"),
])
def test_a_fall_is_read_as_icd_titles_it(text: str, read: str) -> None:
    assert fall_reading(text) == read


@pytest.mark.parametrize("text, read", [
    ("preterm labor 32 weeks", "preterm labor 32 weeks, third trimester"),
    ("13 wks pregnant with UTI", "13 wks pregnant with UTI, first trimester"),
    ("preeclampsia at 20w", "preeclampsia at 20w, second trimester"),
    ("pregnant, 14 weeks", "pregnant, 14 weeks, second trimester"),  # 14 weeks 0 days starts the second
    ("pregnant, 28 weeks", "pregnant, 28 weeks, third trimester"),
    ("second trimester bleeding at 20 weeks", "second trimester bleeding at 20 weeks"),  # a trimester named
    ("baby 6 weeks old with fever", "baby 6 weeks old with fever"),  # no pregnancy
    ("preterm newborn 32 weeks gestation", "preterm newborn 32 weeks gestation"),  # a newborn's age
    ("pregnant 45 weeks", "pregnant 45 weeks"),
])
def test_a_pregnancys_weeks_name_its_trimester(text: str, read: str) -> None:
    assert trimester_reading(text) == read


@pytest.mark.parametrize("text, read", [
    # Y92.002 "Bathroom of unspecified non-institutional (private) residence ...", not Y92.121 "Bathroom in
    # nursing home" nor Y92.031 "Bathroom in apartment ..." (which asks "apartment" as much as Y92.002 would
    # ask "non-institutional" of a plain "residence")
    ("bathroom at home", "bathroom at non-institutional residence"),
    ("garden of private home", "garden of private non-institutional residence"),
    ("home bathroom", "non-institutional residence bathroom"),
    ("private home as the place of occurrence", "private non-institutional residence as the place of occurrence"),
    ("injured at home", "injured at non-institutional residence"),  # Y92.009, not V97.31 "Hit by object ..."
    # another kind of home, a home that is not the place, or no place named: left alone
    ("bathroom in nursing home", "bathroom in nursing home"),
    ("kitchen of mobile home", "kitchen of mobile home"),
    ("bathroom of children's home", "bathroom of children's home"),
    ("at-home childcare provider in the kitchen", "at-home childcare provider in the kitchen"),
    ("needs assistance at home", "needs assistance at home"),
    ("accident at home", "accident at home"),  # "accident" alone reads as a transport accident
    ("homeless, sleeping in a garage", "homeless, sleeping in a garage"),
])
def test_a_home_as_the_place_of_an_injury_is_a_residence(text: str, read: str) -> None:
    assert home_reading(text) == read


@pytest.mark.parametrize("text, read", [
    ("NEC", "necrotizing enterocolitis"),  # K55.30, not Y99.8 "Other external cause status"
    ("NEC in newborn, stage 2", "necrotizing enterocolitis in newborn, stage 2"),  # P77.2
    ("eosinophilic lung disease NEC", "eosinophilic lung disease NEC"),  # ICD-10-CM's "not elsewhere classified"
    ("nec", "nec"),
    ("NEC-like colitis", "NEC-like colitis"),
])
def test_nec_opening_a_query_is_necrotizing_enterocolitis(text: str, read: str) -> None:
    assert enterocolitis_reading(text) == read


@pytest.mark.parametrize("text, read", [
    ("syndrome following polio", "postpolio syndrome"),  # G14, not B91 "Sequelae of poliomyelitis"
    ("neuralgia after shingles", "postherpetic neuralgia"),
    ("bleeding after sex", "postcoital bleeding"),  # N93.0, not N92.3 "Ovulation bleeding"
    ("syndrome after deep vein thrombosis of left leg", "postthrombotic syndrome of left leg"),  # I87.0-
    ("paralysis after a seizure", "postepileptic paralysis"),  # G83.84 "Todd's paralysis (postepileptic)"
    ("lymphedema after mastectomy", "postmastectomy lymphedema"),  # I97.2, not I89.0
    # ICD-10-CM's own "after" / "following", or no "post-" word for the event: left alone
    ("osteopathy after polio", "osteopathy after polio"),  # M89.6 "Osteopathy after poliomyelitis"
    ("urinary tract infection following delivery", "urinary tract infection following delivery"),  # O86.2-
    ("weakness after a stroke", "weakness after a stroke"),
    ("pain after fall", "pain after fall"),
])
def test_what_follows_an_event_is_named_by_its_post_adjective(text: str, read: str) -> None:
    assert post_event_reading(text) == read


@pytest.mark.parametrize("text, read", [
    ("hit by or walking into another object", "struck by or striking against another object"),
    ("bumped into or hit by other objects", "striking against or struck by other objects"),
    ("collision with other objects", "striking against or struck by other objects"),  # W22, not V81.3
    ("hitting or being hit by other objects", "striking against or struck by other objects"),
    ("was hit by an object, head injury", "struck by an object, head injury"),
    # no object named: left alone
    ("hit by a car", "hit by a car"),
    ("walked into a wall", "walked into a wall"),  # W22.01 "Walked into wall"
    ("hitting head on an object", "hitting head on an object"),
    ("collision with bus", "collision with bus"),
])
def test_meeting_an_object_is_striking_against_or_struck_by_it(text: str, read: str) -> None:
    assert object_strike_reading(text) == read


@pytest.mark.parametrize("text, read", [
    ("heroin dependence", "opioid dependence"),  # F11.2-, not T40.1- "Poisoning by heroin"
    ("methamphetamine abuse", "other stimulant abuse"),  # F15.1-
    ("crystal meth use disorder, severe", "other stimulant dependence"),
    ("benzodiazepines dependence", "sedative, hypnotic or anxiolytic dependence"),  # F13.2-
    ("crack cocaine withdrawal", "cocaine withdrawal"),
    ("weed dependence", "cannabis dependence"),
    # DSM-5's severities as ICD-10-CM codes them: mild is abuse, moderate or severe dependence
    ("cocaine use disorder, mild, with cocaine-induced psychotic disorder",
     "cocaine abuse, with cocaine-induced psychotic disorder"),  # F14.159
    ("mild opioid use disorder", "opioid abuse"),
    ("hallucinogen use disorder, moderate or severe", "hallucinogen dependence"),
    ("severe alcohol use disorder", "alcohol dependence"),
    ("cocaine misuse", "cocaine abuse"),
    ("opioid use disorder", "opioid use disorder"),  # no severity said
    # no use disorder said: the substance stays, for the Table of Drugs
    ("heroin overdose", "heroin overdose"),
    ("poisoning by methamphetamine, accidental", "poisoning by methamphetamine, accidental"),
    ("pot belly", "pot belly"),
])
def test_a_substance_in_a_use_disorder_is_its_icd_class(text: str, read: str) -> None:
    assert substance_use_reading(text) == read


@pytest.mark.parametrize("text, read", [
    ("inflammation of the pancreas", "pancreatitis"),
    ("inflamed gallbladder", "cholecystitis"),
    ("superficial inflammation of the left cornea, unspecified", "superficial left keratitis, unspecified"),
    ("unspecified superficial corneal inflammation, left eye", "unspecified superficial keratitis, left eye"),
    ("acute small airway inflammation", "acute bronchiolitis"),  # the longer site wins over "airways"
    ("inflammation of the lining of the heart", "pericarditis"),
    ("chronic inflammation of the kidney tubules and interstitium", "chronic tubulo-interstitial nephritis"),
    ("inflammatory bowel disease", "inflammatory bowel disease"),  # no site after "inflammation"
    ("inflammation", "inflammation"),
])
def test_an_inflammation_is_read_as_its_icd_word(text: str, read: str) -> None:
    assert inflammation_reading(text) == read


@pytest.mark.parametrize("text, read", [
    ("bead stuck in nose", "bead foreign body in nose"),  # T17.1, not Q84.1 (hair)
    ("toy lodged in child's ear", "toy foreign body in ear"),
    ("object stuck in the genitourinary system", "object foreign body in genitourinary system"),  # T19
    ("stuck in traffic, anxious", "stuck in traffic, anxious"),  # nothing named before it
    ("car stuck", "car stuck"),
])
def test_something_stuck_in_a_body_part_is_a_foreign_body(text: str, read: str) -> None:
    assert foreign_body_reading(text) == read


@pytest.mark.parametrize("text, read", [
    ("weakness or paralysis of right non-dominant side after a stroke",
     "hemiplegia and hemiparesis affecting right non-dominant side after a stroke"),  # I69.353
    ("right sided weakness after stroke", "hemiparesis affecting right dominant side after stroke"),
    ("left side paralysis after cerebral infarction",
     "hemiplegia affecting left non-dominant side after cerebral infarction"),
    ("left hemiparesis after stroke", "left non-dominant hemiparesis after stroke"),
    ("right hemiplegia", "right dominant hemiplegia"),
    ("hemiplegia affecting left nondominant side", "hemiplegia affecting left nondominant side"),
    # no stroke said: a weakness is a symptom, a paralysis of one side still hemiplegia
    ("left-sided weakness", "left-sided weakness"),
    ("weakness of left side", "left-sided weakness"),  # R53.1, not R10.A2 "Flank pain, left side"
    ("paralysis of one side of the body", "hemiplegia"),
    ("paralysis of the right side", "hemiplegia affecting right dominant side"),
])
def test_one_side_weakness_after_a_stroke_is_hemiparesis_of_the_default_dominance(text: str, read: str) -> None:
    """ICD-10-CM's guideline I.C.6.a: a paralysis of the right side is of the dominant side, of the left
    side the non-dominant one, unless the record says otherwise."""
    assert dominance_reading(one_side_reading(text)) == read


@pytest.mark.parametrize("text, read", [
    ("other injury of the muscles and tendons in the front of the left lower leg",
     "other injury of the muscles and tendons anterior left lower leg"),  # S86.292
    ("strain of muscle in back of right thigh", "strain of muscle posterior right thigh"),  # S76.311
    ("back of the head laceration", "back of the head laceration"),  # not a limb
    ("back pain", "back pain"),
])
def test_the_front_or_back_of_a_limb_is_anterior_or_posterior(text: str, read: str) -> None:
    assert limb_face_reading(text) == read


def test_inflammation_words_are_icd_10_cm_words() -> None:
    """Every word of data/inflammations.csv is one ICD-10-CM's titles or inclusion terms use ("iritis": H20.9's
    "Iritis NOS"), each site listed once."""
    from icdsearch.codeset import default_code_set

    codes = default_code_set()
    text = " ".join([*(c.description.lower() for c in codes), *(s.text.lower() for s in synonyms(codes))])
    rows = load_inflammations()
    assert len(rows) > 100 and len({site for site, _ in rows}) == len(rows)
    assert all(re.search(rf"\b{re.escape(word)}\b", text) for _, word in rows), \
        [word for _, word in rows if not re.search(rf"\b{re.escape(word)}\b", text)]


def test_a_use_disorder_answers_the_class_of_its_drug(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Through the whole query reading: "addiction" is "dependence" (data/abbreviations.csv), the drug its
    class, and BM25 then ranks F11.2- "Opioid dependence" first, not T40.1- "Poisoning by heroin"."""
    from icdsearch.query import read_query

    index = real_index(tmp_path_factory, "substances", ("F11.2", "T40.1"))
    read = read_query("heroin addiction", index, Pipeline())
    assert read == "opioid dependence"
    assert index.codes[index.top_codes(read, 1)[0][0]].startswith("F11.2")
    assert index.codes[index.top_codes(read_query("heroin overdose", index, Pipeline()), 1)[0][0]].startswith("T40.1")


@pytest.mark.parametrize("text, category", [
    ("pedestrian injured in collision with car", "V03"),
    ("Pedestrian injured in collision with car, pick-up truck or van", "V03"),  # V03's own title
    ("Car occupant injured in collision with pedestrian or animal", "V40"),  # and V40's: the order decides
    ("pedal cyclist injured in collision with heavy transport vehicle", "V14"),
    ("bus occupant injured in collision with pedal cycle", "V71"),
    ("occupant of a lorry injured colliding with another lorry or a bus", "V64"),
    ("car driver injured in collision with pick-up truck", "V43"),  # "pick-up truck" is no heavy "truck"
    ("motorcyclist crashed into a tree", "V27"),  # a fixed object
    ("bus occupant hurt when the bus hit a cyclist", "V71"),  # "hit" read only after an occupant is named
    ("car hit a pedestrian", None),  # who was hurt is not said
    ("driver injured in collision with car", None),  # the driver's vehicle is not said
    ("car passenger injured in collision with motor vehicle", None),  # no one mode
    ("pedestrian injured in collision with animal", None),  # ICD-10-CM has no such pedestrian category
    ("semi-conscious after collision with a car", None),
    ("chest pain", None),
])
def test_a_collision_names_its_category(text: str, category: str | None) -> None:
    assert collision_category(text) == category


@pytest.fixture(scope="module")
def collisions(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """Real transport codes whose titles hold the same words in the other order: V03 (a pedestrian hit by a
    car) and V40 (a car occupant who hit a pedestrian), with V13 (a pedal cyclist hit by a car)."""
    return real_index(tmp_path_factory, "collisions", ("V03", "V40", "V13"))


def test_the_collision_a_query_names_comes_first(collisions: LexicalIndex) -> None:
    text = collision_reading("pedestrian hit by car")
    ranked = [i for i, _ in collisions.top_codes(text, 40)]
    first = [collisions.codes[i][:3] for i in ranked[:10]]
    assert "V40" in first  # by its words alone, the car occupant's category ranks among the first
    out = [collisions.codes[i] for i in prefer_collision(ranked, collision_category(text), collisions.codes.__getitem__)]
    n = sum(c.startswith("V03") for c in out)
    assert n > 0 and all(c.startswith("V03") for c in out[:n])
    assert sorted(out) == sorted(collisions.codes[i] for i in ranked)  # a reordering, nothing lost
    assert prefer_collision(ranked, None, collisions.codes.__getitem__) == ranked
    # none of its codes ranked: the category itself comes first, where the index has it
    others = [i for i in ranked if not collisions.codes[i].startswith("V03")]
    out = prefer_collision(others, "V03", collisions.codes.__getitem__, collisions.position.get)
    assert out == [collisions.position["V03"], *others]
    assert prefer_collision(ranked, "V71", collisions.codes.__getitem__, collisions.position.get) == ranked


def test_a_searcher_answers_as_search_does_and_opens_once(hashed_store: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from icdsearch import Searcher
    from icdsearch import query as query_module

    queries = ["T2DM w/o complications", "sprained left ankle, f/u", "rt knee pain", "E11.9", "high blood pressure"]
    for mode in ("hybrid", "dense"):
        expected = {(text, flag): search(text, k=5, billable_only=flag, mode=mode, **hashed_store)
                    for text in queries for flag in (False, True)}
        expected_many = search_many(queries, k=3, mode=mode, **hashed_store)
        searcher = Searcher(hashed_store["model"], hashed_store["codes"], hashed_store["store"], mode=mode)
        monkeypatch.setattr(query_module, "open_collection", None)  # a Searcher never opens the store again
        opened: list[str] = []
        real_open = searcher.store.open
        monkeypatch.setattr(searcher.store, "open", lambda name: opened.append(name) or real_open(name))
        for (text, flag), hits in expected.items():
            assert searcher.search(text, k=5, billable_only=flag) == hits
        assert searcher.search_many(queries, k=3) == expected_many
        assert opened == []  # hybrid: the synonym companion search() opened above serves the process
        monkeypatch.undo()
    with pytest.raises(BadQuery):
        searcher.search("", k=3)
    with pytest.raises(BadQuery):
        searcher.search("gout", k=0)


def test_a_searcher_for_a_missing_collection_says_how_to_make_it(tmp_path: Path) -> None:
    from icdsearch import Searcher

    ingest(HASH, default_code_set().subset(lambda c: c.code.startswith("I10"), "i10"), store=str(tmp_path))
    with pytest.raises(CollectionNotFound, match="run `icdsearch ingest"):
        Searcher(HASH, "all", str(tmp_path))


def test_billable_only_answers_billable_codes(hashed_store: dict) -> None:
    hits = search("ankle sprain", k=10, billable_only=True, **hashed_store)
    assert hits and all(h.billable for h in hits)
    assert all(h.code.startswith("S93") for h in search("ankle sprain", k=3, category="s93", **hashed_store))


def test_deleting_a_collection_drops_its_synonyms(hashed_store: dict, ankle_codes: CodeSet) -> None:
    store = as_store(hashed_store["store"])
    name = f"hash-bow-256--{ankle_codes.version}"
    store.delete(name)
    assert not store.has(name) and not store.has(synonym_collection_name(name))


def test_a_hybrid_batch_searched_in_chunks_answers_as_one_query_at_a_time(
        hashed_store: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker threads search chunk after chunk while the first chunks are steered: each query of a
    batch spanning several chunks (and a last, shorter one) gets the answer it gets alone."""
    from icdsearch import query as query_module

    queries = ["T2DM w/o complications", "sprained left ankle, f/u", "rt knee pain", "high blood pressure",
               "asthma", "ankle sprain", "gout"]
    alone = [search(q, k=5, billable_only=True, **hashed_store) for q in queries]
    monkeypatch.setattr(query_module, "CHUNK", 3)
    assert search_many(queries, k=5, billable_only=True, **hashed_store) == alone
    assert all(alone)


def test_search_opens_the_synonyms_once_until_they_change(hashed_store: dict, ankle_codes: CodeSet,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """search() opens the main collection on every call but its synonym companion once; a companion deleted
    on its own, or rebuilt with its collection, is opened afresh, not queried through a stale handle."""
    store = as_store(hashed_store["store"])
    name = f"hash-bow-256--{ankle_codes.version}"
    expected = search("high blood pressure", k=5, **hashed_store)
    opened: list[str] = []
    real_open = store.open
    monkeypatch.setattr(store, "open", lambda n: opened.append(n) or real_open(n))
    assert search("high blood pressure", k=5, **hashed_store) == expected
    assert opened == [name]

    store.delete(synonym_collection_name(name))  # the companion alone
    with pytest.raises(IncompleteCollection, match="no complete synonym index"):
        search("high blood pressure", k=5, **hashed_store)
    ingest(HASH, ankle_codes, store=hashed_store["store"])  # adds it back
    assert search("high blood pressure", k=5, **hashed_store) == expected

    ingest(HASH, ankle_codes, store=hashed_store["store"], rebuild=True)  # both collections get new ids
    opened.clear()
    assert search("high blood pressure", k=5, **hashed_store) == expected
    assert opened == [name, synonym_collection_name(name)]


def test_missing_lexical_index_says_how_to_build_it(hashed_store: dict, ankle_codes: CodeSet) -> None:
    import shutil

    directory = lexical_dir(as_store(hashed_store["store"]), ankle_codes.version)
    shutil.rmtree(directory)
    with pytest.raises(IncompleteCollection, match="icdsearch ingest"):
        search("asthma", **hashed_store)
    assert search("asthma", mode="dense", **hashed_store)  # the paper's setup needs no lexical index
    assert ingest(HASH, ankle_codes, store=hashed_store["store"]).lexical_built
    assert search("asthma", **hashed_store)


def test_server_store_keeps_its_lexical_index_in_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ICDSEARCH_CACHE", str(tmp_path / "cache"))
    store = as_store(StoreConfig(host="127.0.0.1", port=65000))
    assert lexical_dir(store, "v1") == tmp_path / "cache" / "servers" / "127.0.0.1-65000" / "lexical" / "v1"


@pytest.fixture(scope="module")
def headers(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """Real lymphoma (C81, C85), drug-induced diabetes (E09) and ankle sprain (S93.4) codes, with their
    inclusion terms."""
    return real_index(tmp_path_factory, "headers", ("C81", "C85", "E09", "S93.4"))


def test_a_header_gives_its_place_to_the_child_that_says_no_more(headers: LexicalIndex) -> None:
    """With --billable-only, "Hodgkin lymphoma" hands its place to its unspecified child, not to the
    "in remission" code that ranked higher; without the qualifiers, the ranking decides as before."""
    def first(ranked: list[str], says: bool) -> str:
        out = steer([headers.position[c] for c in ranked], Intent(), headers.variants, billable_first=True,
                    says=headers.qualifiers if says else None)
        return headers.codes[out[0]]

    # C81 has too many descendants to try them all: those ranked are its candidates
    assert first(["C81", "C81.9A", "C81.90"], says=True) == "C81.90"
    assert first(["C81", "C81.9A", "C81.90"], says=False) == "C81.9A"
    # C85.9 has 12: all are candidates, the ranked "in remission" one included
    assert first(["C85.9", "C85.9A"], says=True) == "C85.90"
    assert first(["C85.9", "C85.9A"], says=False) == "C85.9A"
    # a side the query names outweighs it: S93.409A says no more than S93.40, but the query said "right"
    assert first(["S93.40"], says=True) == "S93.409A"
    out = steer([headers.position["S93.40"]], Intent("right"), headers.variants, billable_first=True,
                says=headers.qualifiers)
    assert headers.codes[out[0]] == "S93.401A"


def test_a_child_that_says_no_more_reads_its_headers_inclusion_terms(headers: LexicalIndex) -> None:
    """"Lymphoma NOS" is an inclusion term of the header C85.9; C85.90 "Non-Hodgkin lymphoma, unspecified,
    unspecified site" says no more than it, so the term is its own too and "lymphoma" answers C85.90."""
    c8590, c819a = headers.position["C85.90"], headers.position["C81.9A"]
    assert headers.codes[headers.parent(c8590)] == "C85.9" and headers.parent(headers.position["C85"]) is None
    words = headers.query_words("lymphoma")
    assert words in headers.wording_qualifiers(c8590)
    assert words not in headers.wording_qualifiers(headers.position["C85.91"])  # it names a site
    at = [c819a, headers.position["C81.90"], c8590]
    qualifiers = exact_wording_qualifiers(at, words, headers.qualifiers, headers.wording_qualifiers)
    assert headers.codes[prefer_exact(at, words, qualifiers)[0]] == "C85.90"


@pytest.mark.parametrize("query, ranked, expected", [
    # E09.9 asks "drug or chemical" only; E09.8 asks that and "complications": the sibling that asks only
    # part of what the ranked code asks comes first.
    ("steroid induced diabetes", ["E09.8", "E09.9"], ["E09.9", "E09.8"]),
    # the other way round nothing moves: E09.8 asks more than E09.9, not less
    ("steroid induced diabetes", ["E09.9", "E09.8"], ["E09.9", "E09.8"]),
    # a sibling asking something else ("hypoglycemia") is no more general: nothing moves
    ("steroid induced diabetes", ["E09.8", "E09.649"], ["E09.8", "E09.649"]),
])
def test_prefer_general_takes_a_sibling_that_asks_part_of_it(headers: LexicalIndex, query: str, ranked: list[str],
                                                             expected: list[str]) -> None:
    assert _general(headers, query, ranked) == expected


@pytest.fixture(scope="module")
def fractures(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """Real fracture codes: ribs (S22.3), fifth metatarsal (S92.35), little finger (S62.60-, S67.19-) and
    pathological fractures of the finger (M84.44)."""
    return real_index(tmp_path_factory, "fractures", ("S22.3", "S92.35", "S62.60", "S67.19", "M84.44"))


@pytest.mark.parametrize("query, ranked, expected", [
    # neither open nor closed said: closed (guideline I.C.19.c.1), though the open code ranked first
    ("rib fracture left", "S22.32XB", "S22.32XA"),
    ("open fracture of left rib", "S22.32XB", "S22.32XB"),
    ("open fracture of left rib", "S22.32XA", "S22.32XB"),
    ("closed fracture of left rib", "S22.32XB", "S22.32XA"),
])
def test_a_fracture_not_said_open_is_closed(fractures: LexicalIndex, query: str, ranked: str, expected: str) -> None:
    out = steer([fractures.position[ranked]], parse_intent(query), fractures.variants)
    assert fractures.codes[out[0]] == expected


@pytest.mark.parametrize("query, ranked, expected", [
    # neither displaced nor nondisplaced said: displaced (guideline I.C.19.c.1) asks nothing
    ("fracture of right fifth metatarsal", ["S92.354A", "S92.351A"], ["S92.351A", "S92.354A"]),
    ("nondisplaced fracture of right fifth metatarsal", ["S92.354A", "S92.351A"], ["S92.354A", "S92.351A"]),
    ("non-displaced fracture of right fifth metatarsal", ["S92.351A", "S92.354A"], ["S92.354A", "S92.351A"]),
])
def test_a_fracture_not_said_nondisplaced_is_displaced(fractures: LexicalIndex, query: str, ranked: list[str],
                                                       expected: list[str]) -> None:
    query = default_expander().expand(query)  # "non-displaced" is written "nondisplaced", as ICD-10-CM does
    named = named_defaults(query)
    assert ("displacement" in named) == ("displaced" in query)
    at = [fractures.position[c] for c in ranked]
    out = prefer_general(at, fractures.query_words(query), lambda i: fractures.qualifiers(i, named),
                         lambda i: fractures.codes[i][:3], fractures.variants)
    assert [fractures.codes[i] for i in out] == expected


@pytest.mark.parametrize("query, expected", [
    # "fracture" and no cause: the injury fracture first, before the pathological one and the crush
    ("fracture of left little finger", ["S62.607A", "M84.445A", "S67.197A"]),
    # a cause named, or no fracture asked: the ranking stays
    ("pathological fracture of left finger", ["M84.445A", "S67.197A", "S62.607A"]),
    ("fracture of left little finger due to osteoporosis", ["M84.445A", "S67.197A", "S62.607A"]),
    ("crushed left little finger", ["M84.445A", "S67.197A", "S62.607A"]),
])
def test_a_fracture_of_no_named_cause_is_an_injury(fractures: LexicalIndex, query: str, expected: list[str]) -> None:
    at = [fractures.position[c] for c in ("M84.445A", "S67.197A", "S62.607A")]
    out = prefer_traumatic_fracture(at, query, fractures.descriptions.__getitem__)
    assert [fractures.codes[i] for i in out] == expected
    assert prefer_traumatic_fracture(at, query, fractures.descriptions.__getitem__, window=2) == at  # not in reach


@pytest.fixture(scope="module")
def ankles(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """Real codes around an ankle fracture: pathological ones of the ankle (M84.47-), S82 with S82.89 (its
    inclusion term "Fracture of ankle NOS"), fractures of the foot (S92: "..., except ankle")."""
    return real_index(tmp_path_factory, "ankles", ("M84.47", "S82", "S92"))


def _deep(index: LexicalIndex, query: str, ranked: list[str], window: int = 2) -> list[str]:
    at = [index.position[c] for c in ranked]
    wordings = lambda i: (index.said(i), *index.wording_qualifiers(i))  # noqa: E731 - as Retriever._wordings
    out = prefer_traumatic_fracture(at, query, index.descriptions.__getitem__, window,
                                    deep=(wordings, index.query_words(query)))
    return [index.codes[i] for i in out]


@pytest.mark.parametrize("query, expected", [
    # no injury fracture within the window: the first one further down that names the ankle, by its
    # inclusion term, not the foot's ranked before it
    ("fracture of right ankle", ["S82.89", "M84.471", "M84.471A", "S92.901"]),
    ("fracture of my right ankle", ["S82.89", "M84.471", "M84.471A", "S92.901"]),
    # a cause named: the ranking stays
    ("pathological fracture of right ankle", ["M84.471", "M84.471A", "S92.901", "S82.89"]),
])
def test_an_injury_fracture_further_down_is_taken_when_it_names_the_site(ankles: LexicalIndex, query: str,
                                                                          expected: list[str]) -> None:
    assert _deep(ankles, query, ["M84.471", "M84.471A", "S92.901", "S82.89"]) == expected


def test_a_deep_injury_fracture_that_names_no_such_site_stays(ankles: LexicalIndex) -> None:
    # the foot is the only injury fracture further down: "ankle" is not among its words
    assert _deep(ankles, "fracture of right ankle", ["M84.471", "M84.471A", "S92.901"]) == \
        ["M84.471", "M84.471A", "S92.901"]
    # without ``deep``, nothing past the window is looked at
    at = [ankles.position[c] for c in ("M84.471", "M84.471A", "S82.89")]
    assert prefer_traumatic_fracture(at, "fracture of right ankle", ankles.descriptions.__getitem__, window=2) == at


def test_a_fracture_code_that_leaves_out_the_querys_site_is_passed_over(ankles: LexicalIndex) -> None:
    at = [ankles.position[c] for c in ("S92", "M84.473", "S82")]
    out = prefer_traumatic_fracture(at, "fractured ankle", ankles.descriptions.__getitem__)
    assert [ankles.codes[i] for i in out] == ["S82", "S92", "M84.473"]
    # the same code for a site it does not leave out
    out = prefer_traumatic_fracture(at, "fractured foot", ankles.descriptions.__getitem__)
    assert [ankles.codes[i] for i in out] == ["S92", "M84.473", "S82"]


@pytest.fixture(scope="module")
def dislocations(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """Real dislocation codes: the shoulder's injury (S43.00-), recurrent (M24.41-) and pathological
    (M24.31-) ones, and the lens (H27.1-)."""
    return real_index(tmp_path_factory, "dislocations", ("S43.00", "M24.41", "M24.31", "H27.1"))


@pytest.mark.parametrize("query, expected", [
    # "dislocated" and no cause: the injury first, before the recurrent and the pathological dislocation
    ("dislocated shoulder", ["S43.006A", "M24.419", "M24.319"]),
    ("shoulder subluxation", ["S43.006A", "M24.419", "M24.319"]),
    # a cause named: the ranking stays
    ("recurrent dislocation of shoulder", ["M24.419", "M24.319", "S43.006A"]),
    ("pathological dislocation of the shoulder", ["M24.419", "M24.319", "S43.006A"]),
    ("shoulder keeps dislocating again", ["M24.419", "M24.319", "S43.006A"]),
])
def test_a_dislocation_of_no_named_cause_is_an_injury(dislocations: LexicalIndex, query: str,
                                                      expected: list[str]) -> None:
    at = [dislocations.position[c] for c in ("M24.419", "M24.319", "S43.006A")]
    assert [dislocations.codes[i] for i in prefer_traumatic_fracture(at, query, dislocations.descriptions.__getitem__)] \
        == expected


def test_a_dislocation_that_is_no_joints_keeps_its_place(dislocations: LexicalIndex) -> None:
    # the first code says a dislocation of no other cause: the lens's, not an injury of a joint ranked below
    at = [dislocations.position[c] for c in ("H27.10", "M24.419", "S43.006A")]
    assert prefer_traumatic_fracture(at, "dislocated lens", dislocations.descriptions.__getitem__) == at


@pytest.fixture(scope="module")
def climbs(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """Real codes under headers that a query may say all of, or not."""
    return real_index(tmp_path_factory, "climbs", ("Z80", "R07", "E03", "S23.1", "R30", "O45"))


def _header(index: LexicalIndex, query: str, ranked: list[str], window: int = 10) -> list[str]:
    at = [index.position[c] for c in ranked]
    words = index.query_words(query)
    qualifiers = exact_wording_qualifiers(at, words, index.qualifiers, index.wording_qualifiers)
    out = prefer_header(at, frozenset(index.tokens(fold(query))), index.title_words, index.parent,
                        says_exactly(words, qualifiers), says_exactly_any(words, index.title_qualifiers), parse_intent(query),
                        index.variants, window)
    return [index.codes[i] for i in out]


@pytest.mark.parametrize(("query", "ranked", "expected"), [
    # the code adds only "unspecified", which the query does not say: its header first
    ("family history of cancer", ["Z80.9", "Z80"], ["Z80", "Z80.9"]),
    ("family history of cancer, unspecified", ["Z80.9", "Z80"], ["Z80.9", "Z80"]),
    # as the query reaches steering, "cancer" expanded: Z80.9 says exactly that, and so does Z80, whose
    # "primary" is the default of a malignant neoplasm
    ("family history of malignant neoplasm", ["Z80.9", "Z80"], ["Z80", "Z80.9"]),
    # "associated with" says only "with": R30 "Pain associated with micturition" says all of the query
    ("painful micturition", ["R30.9", "R30"], ["R30", "R30.9"]),
    # no encounter said: the header without one, and no higher (S23.15 says only more: subluxation, T10)
    ("dislocation of T8/T9 thoracic vertebra", ["S23.151A", "S23.15", "S23.151"], ["S23.151", "S23.151A", "S23.15"]),
    ("dislocation of T8/T9 thoracic vertebra, initial encounter", ["S23.151A", "S23.151"], ["S23.151A", "S23.151"]),
    ("dislocation of T8/T9 thoracic vertebra, first visit", ["S23.151A", "S23.151"], ["S23.151A", "S23.151"]),
    # a code that says exactly the query keeps its place before a header exact only by its "and" reading
    ("chest pain", ["R07.9", "R07"], ["R07.9", "R07"]),
    # ... but not before a header whose bracketed synonym says it exactly: O45.9's inclusion term is
    # "Abruptio placentae NOS", O45's title "Premature separation of placenta [abruptio placentae]"
    ("abruptio placentae", ["O45.9", "O45"], ["O45", "O45.9"]),
    ("abruptio placentae, unspecified", ["O45.9", "O45"], ["O45.9", "O45"]),
    # "Other hypothyroidism" is not the header of hypothyroidism
    ("hypothyroidism in an adult", ["E03.9", "E03"], ["E03.9", "E03"]),
    # the code adds no word, its header only says more (subluxation, T10)
    ("dislocation of T8/T9 thoracic vertebra in a fall", ["S23.151", "S23.15"], ["S23.151", "S23.15"]),
])
def test_a_code_gives_way_to_a_header_the_query_says_all_of(climbs: LexicalIndex, query: str, ranked: list[str],
                                                             expected: list[str]) -> None:
    assert _header(climbs, query, ranked) == expected


def test_a_query_naming_two_children_is_answered_by_their_header(tmp_path_factory: pytest.TempPathFactory) -> None:
    """"migraine with or without aura" names G43.0 "Migraine without aura" and G43.1 "Migraine with aura":
    their header G43 answers it among all codes, wherever it ranks, and prefer_specific leaves it there. A
    query naming one of them, or no alternatives, keeps its code."""
    index = real_index(tmp_path_factory, "alternatives", ("G43", "Q70"))

    def answer(query: str, ranked: list[str]) -> str:
        at = [index.position[c] for c in ranked]
        words, alternatives = frozenset(index.tokens(fold(query))), says_alternatives(query)
        out = prefer_header(at, words, index.title_words, index.parent, lambda i: False, lambda i: False,
                            parse_intent(query), index.variants, alternatives=alternatives)
        out = prefer_specific(out, words, index.title_words, index.qualifiers, lambda i: bool(index.billable[i]),
                              lambda i: int(index.variants.end[i]), parent=index.parent, alternatives=alternatives)
        return index.codes[out[0]]

    assert answer("migraine with or without aura", ["G43.0", "G43.1", "G43.009"]) == "G43"  # G43 not ranked
    assert answer("webbed fingers or toes", ["Q70.3", "Q70.1"]) == "Q70"
    assert answer("migraine without aura", ["G43.0", "G43.1"]) == "G43.0"
    assert answer("webbed toes", ["Q70.3", "Q70.1"]) == "Q70.3"
    # a child named by its inclusion term: D51.0's "Pernicious anemia", beside D51.8 "Other vitamin B12 ..."
    d51 = real_index(tmp_path_factory, "alternative-synonyms", ("D51",))
    at = [d51.position[c] for c in ("D51.8", "D51.0")]
    query = "pernicious anemia and other vitamin b12 deficiency anemias"
    words = frozenset(d51.tokens(fold(query)))

    def climbed(synonyms: bool) -> str:
        out = prefer_header(at, words, d51.title_words, d51.parent, lambda i: False, lambda i: False,
                            parse_intent(query), d51.variants, alternatives=True,
                            synonyms=d51.wording_qualifiers if synonyms else None)
        return d51.codes[out[0]]

    assert climbed(synonyms=True) == "D51" and climbed(synonyms=False) == "D51.8"
    # a transport accident is a traffic one unless the query says: "driver or passenger" names V71.5 and V71.6
    v71 = real_index(tmp_path_factory, "alternative-traffic", ("V71",))

    def v71_answer(query: str) -> str:
        out = prefer_header([v71.position["V71.5"]], frozenset(v71.tokens(fold(query))), v71.title_words,
                            v71.parent, lambda i: False, lambda i: False, parse_intent(query), v71.variants,
                            alternatives=says_alternatives(query))
        return v71.codes[out[0]]

    assert v71_answer("bus driver or passenger injured in collision with pedal cycle") == "V71"
    assert v71_answer("bus driver injured in collision with pedal cycle") == "V71.5"
    assert says_alternatives("psoriasis vulgaris and other psoriasis") and not says_alternatives("ortho visit")
    assert not says_alternatives("toxic effect of hydrogen sulfide, undetermined whether accidental or intentional")


def test_a_plural_the_header_says_and_its_child_does_not_is_answered_by_the_header(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """"genital herpes infections" (as the abbreviation list writes it) is A60 "Anogenital herpesviral
    [herpes simplex] infections", not A60.9 "Anogenital herpesviral infection, unspecified": the query's
    plural, said by the header and not by its child, names the category. The singular keeps the child;
    so does a header that says "other" the query does not (F41 "Other anxiety disorders"), and a child
    whose side fits the query's ("herpes" is no plural: no "herpe" in the text)."""
    index = real_index(tmp_path_factory, "plurals", ("A60", "F41", "H21.56"))

    def answer(query: str, ranked: list[str]) -> str:
        at = [index.position[c] for c in ranked]
        words = frozenset(index.tokens(fold(query)))
        plural = says_plural(plurals(query, index.word_counts),
                             lambda i: plurals(index.descriptions[i], index.word_counts))
        out = prefer_header(at, words, index.title_words, index.parent, lambda i: True, lambda i: False,
                            parse_intent(query), index.variants, plural=plural)
        out = prefer_specific(out, words, index.title_words, index.qualifiers, lambda i: bool(index.billable[i]),
                              lambda i: int(index.variants.end[i]), parent=index.parent)
        return index.codes[out[0]]

    assert plurals("anogenital herpes infections", index.word_counts) == {"infections"}
    assert answer("anogenital herpesviral infections", ["A60.9", "A60"]) == "A60"
    assert answer("anogenital herpesviral infection", ["A60.9", "A60"]) == "A60.9"
    assert answer("anxiety disorders", ["F41.9", "F41"]) == "F41.9"
    assert answer("pupillary abnormalities", ["H21.561", "H21.56"]) == "H21.56"
    assert answer("pupillary abnormalities, right eye", ["H21.561", "H21.56"]) == "H21.561"
    # prefer_specific leaves a header that says the plural before its billable child of the same words
    f19 = real_index(tmp_path_factory, "plural-specific", ("F19.9",))
    query = "other psychoactive substance use, unspecified with other psychoactive substance-induced disorders"
    at = [f19.position[c] for c in ("F19.98", "F19.988")]

    def specific(with_plural: bool) -> str:
        plural = says_plural(plurals(query, f19.word_counts),
                             lambda i: plurals(f19.descriptions[i], f19.word_counts)) if with_plural else None
        out = prefer_specific(at, frozenset(f19.tokens(fold(query))), f19.title_words, f19.qualifiers,
                              lambda i: bool(f19.billable[i]), lambda i: int(f19.variants.end[i]),
                              parent=f19.parent, plural=plural)
        return f19.codes[out[0]]

    assert specific(with_plural=True) == "F19.98" and specific(with_plural=False) == "F19.988"
    # the header that says the plural may be above one that is not ranked (T49.95 -> T49.9 -> T49)
    t49 = real_index(tmp_path_factory, "plural-ancestor", ("T49",))
    query = "adverse effect of topical agents and dental drugs"
    at = [t49.position[c] for c in ("T49.95", "T49")]
    assert t49.codes[t49.parent(t49.position["T49.95"])] == "T49.9"
    out = prefer_header(at, frozenset(t49.tokens(fold(query))), t49.title_words, t49.parent, lambda i: True,
                        lambda i: False, parse_intent(query), t49.variants,
                        plural=says_plural(plurals(query, t49.word_counts),
                                           lambda i: plurals(t49.descriptions[i], t49.word_counts)))
    assert t49.codes[out[0]] == "T49"


def test_a_query_that_says_other_is_answered_by_a_code_that_says_it(tmp_path_factory: pytest.TempPathFactory) -> None:
    """"other emotional disorders with onset in childhood" is F98, ICD-10-CM's residual category, not F93
    "Emotional disorders with onset specific to childhood"; without "other" F93 keeps its place, and so does
    a first answer that says "other" itself."""
    index = real_index(tmp_path_factory, "others", ("F93", "F98"))
    at = [index.position[c] for c in ("F93", "F98")]

    def first(query: str, ranked: list[int]) -> str:
        return index.codes[prefer_other(ranked, index.all_words(query), index.title_words)[0]]

    assert first("other emotional disorders with onset in childhood", at) == "F98"
    assert first("emotional disorders with onset in childhood", at) == "F93"
    assert first("other emotional disorders with onset in childhood", [index.position["F93.8"], *at]) == "F93.8"

    # "NEC" is ICD-10-CM's "other specified" (guideline I.A.9.a): a residual code, "other" or "not elsewhere
    # classified", answers it even where the query does not say "other"
    index = real_index(tmp_path_factory, "nec", ("M31", "J82"))
    assert says_nec("stiff right hip NEC") and says_nec("vasculopathies not classified above")
    assert not says_nec("necrotizing vasculopathy") and not says_nec("classified as severe")

    def nec(query: str, ranked: list[str]) -> str:
        at = [index.position[c] for c in ranked]
        return index.codes[prefer_other(at, index.all_words(query), index.title_words, nec=says_nec(query))[0]]

    assert nec("necrotizing vasculopathies not classified above", ["M31.9", "M31"]) == "M31"
    assert nec("necrotizing vasculopathies", ["M31.9", "M31"]) == "M31.9"
    assert nec("pulmonary eosinophilia NEC", ["J82", "J82.8"]) == "J82"  # J82 says "not elsewhere classified"
    assert nec("pulmonary eosinophilia NEC", ["J82.83", "J82"]) == "J82"


def test_a_residual_other_code_the_query_does_not_ask_for_gives_way_to_the_header_it_is_named_after(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """H49.889 "Other paralytic strabismus, unspecified eye" is ICD-10-CM's residual code of H49 "Paralytic
    strabismus": a query that says no "other" ("paralytic cross-eye") is answered by H49, wherever it ranks.
    A query that says "other", a word of an inclusion term on the way (H49.88 "External ophthalmoplegia
    NOS"), or a side the residual code fits better keeps it."""
    index = real_index(tmp_path_factory, "residual", ("H49",))
    assert index.codes[index.residual_header(index.position["H49.889"])] == "H49"
    assert index.residual_header(index.position["H49.9"]) is None  # no "Other"
    assert index.residual_header(index.position["H49.811"]) is None  # "Kearns-Sayre syndrome, right eye"

    def answer(query: str, ranked: list[str], residual: bool = True) -> str:
        at = [index.position[c] for c in ranked]
        out = prefer_header(at, frozenset(index.tokens(fold(query))), index.title_words, index.parent,
                            lambda i: False, lambda i: False, parse_intent(query), index.variants,
                            synonyms=index.wording_qualifiers,
                            residual=index.residual_header if residual else None)
        return index.codes[out[0]]

    assert answer("paralytic cross-eye", ["H49.889", "H49.881"]) == "H49"  # H49 not ranked
    assert answer("paralytic cross-eye", ["H49.889", "H49.881"], residual=False) == "H49.889"
    assert answer("other paralytic strabismus", ["H49.889", "H49.881"]) == "H49.889"
    assert answer("external ophthalmoplegia", ["H49.889", "H49.881"]) == "H49.889"
    assert answer("paralytic strabismus, left eye", ["H49.882", "H49.889"]) == "H49.882"


def test_prefer_header_takes_only_headers_within_its_window(climbs: LexicalIndex) -> None:
    assert _header(climbs, "family history of cancer", ["Z80.9", "R07.9", "Z80"], window=2) == ["Z80.9", "R07.9", "Z80"]
    assert _header(climbs, "family history of cancer", ["Z80.9", "R07.9", "Z80"], window=3) == ["Z80", "Z80.9", "R07.9"]


def test_an_encounter_the_query_does_not_name_gives_way_to_its_header_even_beyond_the_window(
        climbs: LexicalIndex) -> None:
    """S23.151A is S23.151 "..., initial encounter": the query names no encounter, so S23.151 answers even
    where it ranks past the window (two T50.2X3 "..., assault" rephrasings were answered T50.2X3A)."""
    ranked = ["S23.151A", "Z80.9", "S23.151"]
    assert _header(climbs, "dislocation of T8/T9 thoracic vertebra", ranked, window=2) == \
        ["S23.151", "S23.151A", "Z80.9"]
    # a query naming the encounter keeps it; a header that says more is still taken only within the window
    assert _header(climbs, "dislocation of T8/T9 thoracic vertebra, initial encounter", ranked, window=2) == ranked
    assert _header(climbs, "family history of cancer", ["Z80.9", "R07.9", "Z80"], window=2) == ["Z80.9", "R07.9", "Z80"]


@pytest.fixture(scope="module")
def descents(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """Real headers with descendants that say more of a query, or the header's very wording."""
    return real_index(tmp_path_factory, "descents", ("Z87.8", "S40.01", "R40.22", "C50.62"))


def _specific(index: LexicalIndex, query: str, ranked: list[str], window: int = 10) -> list[str]:
    at = [index.position[c] for c in ranked]
    out = prefer_specific(at, index.all_words(query), index.title_words, index.qualifiers,
                          lambda i: bool(index.billable[i]), lambda i: int(index.variants.end[i]), window)
    return [index.codes[i] for i in out]


@pytest.mark.parametrize(("query", "ranked", "expected"), [
    # the billable child with the header's very wording is the code to answer
    ("personal history of other specified conditions", ["Z87.8", "Z87.898"], ["Z87.898", "Z87.8"]),
    # a descendant that says a query word more ("unspecified") and asks nothing more; of two such, the one
    # with fewer words (the initial encounter says nothing the query does)
    ("contusion of unspecified shoulder", ["S40.01", "S40.019A", "S40.019"], ["S40.019", "S40.01", "S40.019A"]),
    ("malignant neoplasm of axillary tail of unspecified male breast", ["C50.62", "C50.629"],
     ["C50.629", "C50.62"]),
    # the query says nothing the descendant adds: the header stays first
    ("contusion of shoulder", ["S40.01", "S40.019"], ["S40.01", "S40.019"]),
    ("coma scale best verbal response", ["R40.22", "R40.224"], ["R40.22", "R40.224"]),
    # the descendant asks a word the query does not say ("conversation"): the header stays
    ("coma scale best verbal response, confused", ["R40.22", "R40.224"], ["R40.22", "R40.224"]),
    ("coma scale best verbal response, confused conversation", ["R40.22", "R40.224"], ["R40.224", "R40.22"]),
    # a billable code is no header: nothing moves before it
    ("contusion of right shoulder, initial encounter", ["S40.011A", "S40.019A"], ["S40.011A", "S40.019A"]),
])
def test_a_header_gives_way_to_a_descendant_that_says_more_of_the_query(descents: LexicalIndex, query: str,
                                                                         ranked: list[str],
                                                                         expected: list[str]) -> None:
    assert _specific(descents, query, ranked) == expected


def test_prefer_specific_takes_only_descendants_within_its_window(descents: LexicalIndex) -> None:
    ranked = ["Z87.8", "S40.01", "Z87.898"]
    assert _specific(descents, "personal history of other specified conditions", ranked, window=2) == ranked
    assert _specific(descents, "personal history of other specified conditions", ranked, window=3) == \
        ["Z87.898", "Z87.8", "S40.01"]


@pytest.fixture(scope="module")
def opposites(tmp_path_factory: pytest.TempPathFactory) -> LexicalIndex:
    """Real codes whose descriptions say one of two opposite words: genital malformations of either sex,
    essential and secondary hypertension, acute and chronic bronchitis, Salter-Harris IV fractures of the upper
    and the lower end of the radius, puncture wounds of the vocal cord with and without foreign body, and
    poisonings and blunt injuries of each intent."""
    return real_index(tmp_path_factory, "opposites", ("Q52", "Q55", "I10", "I15", "J20", "J42", "S59.14", "S59.24",
                                                      "S11.03", "T43.59", "Y29", "Y00", "X79", "T39.31", "T40.60",
                                                      "T23.23", "T23.24", "Z98.84", "K95", "K94.0", "Z93.3"))


def _consistent(index: LexicalIndex, query: str, ranked: list[str], window: int = 10) -> list[str]:
    at = [index.position[c] for c in ranked]
    out = prefer_consistent(at, plain_words(query), lambda i: plain_words(index.descriptions[i]), window)
    return [index.codes[i] for i in out]


@pytest.mark.parametrize(("query", "ranked", "expected"), [
    ("congenital anomalies of female genitals", ["Q55", "Q55.9", "Q52"], ["Q52", "Q55", "Q55.9"]),
    ("secondary high blood pressure", ["I10", "I15.9", "I15"], ["I15.9", "I10", "I15"]),
    ("acute bronchitis", ["J42", "J20.9"], ["J20.9", "J42"]),
    # ICD-10-CM's "lower end" of a bone is the clinician's "distal", its "upper end" "proximal"
    ("left distal radius Salter-Harris 4 growth plate fracture", ["S59.142", "S59.242"], ["S59.242", "S59.142"]),
    ("Salter-Harris IV fracture of the proximal radius, left", ["S59.242", "S59.142"], ["S59.142", "S59.242"]),
    # a "no" / "without" clause and a "with" clause that names the same thing are opposites
    ("vocal cord puncture wound, no foreign body", ["S11.034", "S11.033"], ["S11.033", "S11.034"]),
    ("puncture of vocal cord without retained foreign body", ["S11.034", "S11.033"], ["S11.033", "S11.034"]),
    ("puncture wound of vocal cord with foreign body", ["S11.033", "S11.034"], ["S11.034", "S11.033"]),
    ("puncture wound of vocal cord", ["S11.034", "S11.033"], ["S11.034", "S11.033"]),  # says neither
    # ICD-10-CM's "not including" / "including", a clinician's "but not": T23.239 "... multiple fingers
    # (nail), not including thumb", T23.249 "... including thumb"
    ("second-degree burns of several fingers but not the thumb", ["T23.249", "T23.239"], ["T23.239", "T23.249"]),
    ("second-degree burn of fingers excluding thumb", ["T23.249", "T23.239"], ["T23.239", "T23.249"]),
    ("second-degree burn of fingers including the thumb", ["T23.239", "T23.249"], ["T23.249", "T23.239"]),
    # a status code records no complication: a query that says one takes the complication's code, and the
    # other way round
    ("post-bariatric surgery complications", ["Z98.84", "K95"], ["K95", "Z98.84"]),
    ("colostomy status", ["K94.00", "Z93.3"], ["Z93.3", "K94.00"]),
    ("bariatric surgery", ["Z98.84", "K95"], ["Z98.84", "K95"]),  # says neither
    # ICD-10-CM's four intents, in a clinician's words, are opposites
    ("deliberate overdose of other antipsychotics", ["T43.591", "T43.592"], ["T43.592", "T43.591"]),
    ("other antipsychotic poisoning inflicted by another person", ["T43.591", "T43.593"], ["T43.593", "T43.591"]),
    ("hit by something blunt, not known if it was on purpose", ["Y00", "X79", "Y29"], ["Y29", "Y00", "X79"]),
    ("blunt object injury, intent unknown", ["X79", "Y29"], ["Y29", "X79"]),
    ("struck by a blunt object, unclear whether accidental or deliberate", ["Y00", "Y29"], ["Y29", "Y00"]),
    ("assaulted with a blunt object", ["Y29", "Y00"], ["Y00", "Y29"]),
    # no intent, or two, named: nothing moves
    ("overdose of other antipsychotics", ["T43.592", "T43.591"], ["T43.592", "T43.591"]),
    ("accidental or intentional overdose of other antipsychotics", ["T43.592", "T43.591"], ["T43.592", "T43.591"]),
    # no code of the window without the clash: nothing moves
    ("congenital anomalies of female genitals", ["Q55", "Q55.9"], ["Q55", "Q55.9"]),
    # the query says both words, or neither, or the code says the query's word too
    ("male and female genital malformations", ["Q55", "Q52"], ["Q55", "Q52"]),
    ("genital malformations", ["Q55", "Q52"], ["Q55", "Q52"]),
    ("primary hypertension", ["I10", "I15"], ["I10", "I15"]),
    # "non-malignant" is one word, not "malignant"
    ("non-malignant high blood pressure", ["I10", "I15"], ["I10", "I15"]),
])
def test_a_code_that_says_the_opposite_of_the_query_gives_way(opposites: LexicalIndex, query: str,
                                                               ranked: list[str], expected: list[str]) -> None:
    assert _consistent(opposites, query, ranked) == expected


def test_a_code_of_the_wrong_intent_gives_way_only_within_its_category_or_chapter_20(opposites: LexicalIndex) -> None:
    def consistent(query: str, ranked: list[str]) -> list[str]:
        at = [opposites.position[c] for c in ranked]
        out = prefer_consistent(at, plain_words(query), lambda i: plain_words(opposites.descriptions[i]),
                                code=opposites.codes.__getitem__)
        return [opposites.codes[i] for i in out]

    # another drug's undetermined poisoning does not answer for this drug's accidental one
    assert consistent("propionic acid derivative overdose, intent unknown", ["T39.311A", "T40.604A"]) == \
        ["T39.311A", "T40.604A"]
    assert consistent("propionic acid derivative overdose, intent unknown", ["T39.311A", "T40.604A", "T39.314A"]) == \
        ["T39.314A", "T39.311A", "T40.604A"]
    # external causes keep each intent in a category of its own
    assert consistent("blunt object injury, intent unknown", ["X79", "Y29"]) == ["Y29", "X79"]


def test_prefer_consistent_looks_only_within_its_window(opposites: LexicalIndex) -> None:
    assert _consistent(opposites, "acute bronchitis", ["J42", "I10", "J20.9"], window=3) == ["J20.9", "J42", "I10"]
    assert _consistent(opposites, "acute bronchitis", ["J42", "I10", "J20.9"], window=2) == ["J42", "I10", "J20.9"]


def test_a_code_that_does_not_say_the_querys_word_takes_no_place() -> None:
    # I10 says neither "acute" nor "chronic": it does not answer "acute bronchitis" before J42
    words = {0: plain_words("Unspecified chronic bronchitis"), 1: plain_words("Essential (primary) hypertension")}
    assert prefer_consistent([0, 1], plain_words("acute bronchitis"), words.__getitem__) == [0, 1]


def test_contradicts_weighs_whole_words() -> None:
    def clash(query: str, description: str) -> bool:
        return contradicts(plain_words(query), plain_words(description))

    assert clash("acute on chronic heart failure", "Acute on chronic heart failure") is False
    assert clash("acute on chronic heart failure", "Chronic heart failure") is False
    assert clash("acute heart failure", "Chronic heart failure") is True
    assert clash("benign tumour of ovary", "Malignant neoplasm of ovary") is True
    assert clash("femoral fracture", "Fracture of female pelvis") is False
    assert clash("distal radius fracture", "Fracture of upper end of radius") is True
    assert clash("distal radius fracture", "Fracture of lower end of radius") is False
    assert clash("proximal tibia fracture", "Fracture of lower leg") is False  # a lower leg is no bone's end
    assert clash("T2DM w/o complications", "Type 2 diabetes mellitus with unspecified complications") is True
    assert clash("migraine with aura", "Migraine without aura, not intractable") is True
    assert clash("migraine with aura", "Migraine with aura, not intractable") is False
    assert clash("concussion with no loss of consciousness", "Concussion with loss of consciousness") is True
    # a leg is a lower extremity, an arm an upper one
    dvt = "chronic deep vein thrombosis right leg"
    assert clash(dvt, "Chronic embolism and thrombosis of deep veins of right upper extremity") is True
    assert clash(dvt, "Chronic embolism and thrombosis of unspecified deep veins of right lower extremity") is False
    assert clash("cellulitis of left arm", "Cellulitis of left lower limb") is True
    assert clash("multiple injuries of legs", "Multiple injuries of upper and lower limbs") is False
    # a legal intervention is an intent of its own: not an undetermined one
    blunt = "struck by a blunt object, unclear whether accidental or deliberate"
    assert clash(blunt, "Legal intervention involving blunt objects") is True
    assert clash(blunt, "Contact with blunt object, undetermined intent") is False
    assert clash("hit by police with a baton", "Legal intervention involving baton, suspect injured") is False
    assert clash("concussion without loss of consciousness", "Concussion without loss of consciousness") is False
    # the clause ends at a comma or the next clause: "with obstruction" is not negated
    assert clash("gallstone without cholecystitis, with obstruction",
                 "Calculus of gallbladder without cholecystitis with obstruction") is False
    assert clash("gallstone without cholecystitis with obstruction",
                 "Calculus of gallbladder with acute cholecystitis with obstruction") is True
    assert clash("no foreign body in the wound", "Laceration without foreign body of scalp") is False
