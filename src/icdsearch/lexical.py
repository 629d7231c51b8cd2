"""Lexical ranking: BM25 over code descriptions and their ICD-10-CM synonyms, persisted beside the store.

Built at ingest with bm25s (Lucene BM25, English stop words, Snowball stemmer from PyStemmer) and saved in
bm25s's own format, plus what a query needs without Chroma or simple_icd_10_cm: the code list, the
billable flags, the document-to-code map, the surface vocabulary (for spelling correction) and the
variant table (for laterality/encounter steering). The query path reads those files with numpy alone and
scores exactly as ``bm25s.BM25.get_scores`` does (a test holds them equal): importing bm25s pulls in scipy,
0.3 s that a one-shot query should not pay.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .codeset import CodeSet, Synonym, synonym_documents
from .errors import StoreError
from .steering import VariantTable, fold

if TYPE_CHECKING:
    from .collections import Store

FORMAT = 7
#: bm25s's default pattern wants 2+ characters; ICD-10-CM needs "type 2", "stage 3", "C5".
TOKEN_PATTERN = r"(?u)\b\w+\b"
_TOKEN = re.compile(TOKEN_PATTERN)
#: A thing named by a letter: "Vitamin A deficiency" asks more than "vitamin deficiency" (one token,
#: "vitamin_a", that steering does not read as a form of "vitamin").
_LETTER_NAMED = re.compile(r"\b(vitamin|hepatitis)\s+([a-z])\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z][a-z'-]*[a-z]")
#: The prefix "non-" before a word of 4+ letters, which ICD-10-CM writes both ways ("right non-dominant
#: side" 48 times, "right nondominant side" 12): read as one word, so that either spelling finds both and
#: "nondominant" does not leave "non" unsaid beside "dominant". Shorter ones stay apart ("non-ST", "non-ABO").
_NON_HYPHEN = re.compile(r"\bnon-(?=[a-z]{4})", re.IGNORECASE)


#: "Age-related" and "senile" name the same thing in ICD-10-CM's titles, the newer word and the older one (H25
#: "Age-related cataract" with "Senile cataract" as inclusion term, H02.03- "Senile entropion", M81.0
#: "Age-related osteoporosis ..."): both are read as one token.
_AGE_RELATED = re.compile(r"\bage[- ]related\b", re.IGNORECASE)


def join_non(text: str) -> str:
    """``text`` as the index's tokens read it: "non-" joined to the word it prefixes ("non-dominant" ->
    "nondominant"), and "age-related" as "senile"."""
    return _AGE_RELATED.sub("senile", _NON_HYPHEN.sub(lambda m: m.group(0)[:3], text))
STEMMER = "english"
#: Adjectives of anatomy and the nouns they come from ("venous", "vein"): a query's word finds the other's
#: titles in the BM25 ranking. The project's own list (data/DATASHEET.md).
WORD_FORMS_PATH = Path(__file__).parent / "data" / "word_forms.csv"


@functools.lru_cache(maxsize=1)
def load_word_forms() -> tuple[tuple[str, str], ...]:
    """(adjective, noun) rows of data/word_forms.csv; lines starting with # are comments."""
    from .files import read_pairs

    return read_pairs(WORD_FORMS_PATH)


def lexical_text(synonym: Synonym) -> str:
    """A synonym as the lexical index reads it: without its nonessential modifiers, as dense search does
    (with them, "hypertension (arterial) (benign) (essential) ..." would be a long, weak match for "hypertension")."""
    return synonym.short


def build_index(directory: Path, code_set: CodeSet, synonyms: Sequence[Synonym]) -> None:
    """Write the lexical index of ``code_set`` (descriptions and synonyms) to ``directory``, atomically."""
    import logging

    import bm25s
    import Stemmer
    from bm25s.stopwords import STOPWORDS_EN

    # bm25s sets its logger to DEBUG; after the ONNX export has configured logging, its notes would
    # reach the ingest's stderr ("DEBUG:bm25s:Building index from tokens").
    logging.getLogger("bm25s").setLevel(logging.WARNING)

    codes = [c.code for c in code_set]
    position = {code: i for i, code in enumerate(codes)}
    kept = [s for s in synonyms if s.code in position]
    texts = [c.description for c in code_set] + [lexical_text(s) for s in kept]
    doc_code = np.array(list(range(len(codes))) + [position[s.code] for s in kept], dtype=np.int32)

    tokens = bm25s.tokenize([join_non(t) for t in texts], stopwords=list(STOPWORDS_EN),
                            stemmer=Stemmer.Stemmer(STEMMER),
                            token_pattern=TOKEN_PATTERN,
                            return_ids=False, show_progress=False)
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)

    words = Counter(w for text in texts for w in set(_WORD.findall(text.lower())))
    table = VariantTable.build(codes, [c.description for c in code_set], [c.billable for c in code_set])

    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.with_name(f".{directory.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    retriever.save(str(tmp), show_progress=False)
    np.save(tmp / "doc_code.npy", doc_code)
    np.save(tmp / "billable.npy", np.array([c.billable for c in code_set], dtype=bool))
    (tmp / "codes.txt").write_text("\n".join(codes), encoding="utf-8")
    # What a hit shows, so that a query reads it here instead of from the store (a round trip per query).
    (tmp / "descriptions.txt").write_text("\n".join(_one_line(c.description) for c in code_set), encoding="utf-8")
    numbered = synonym_documents(kept)
    (tmp / "synonyms.tsv").write_text("\n".join(f"{doc_id}\t{_one_line(s.short)}" for doc_id, s in numbered),
                                      encoding="utf-8")
    np.savez(tmp / "variants.npz", group=table.group, side=table.side, suffix=table.suffix, end=table.end)
    (tmp / "words.json").write_text(json.dumps(dict(words)), encoding="utf-8")
    (tmp / "meta.json").write_text(json.dumps({
        "format": FORMAT, "code_set_version": code_set.version, "codes": len(codes), "documents": len(texts),
        "synonyms": len(kept), "stopwords": list(STOPWORDS_EN), "stemmer": STEMMER,
        "suffixes": list(table.suffixes), "bm25s": bm25s.__version__,
    }), encoding="utf-8")
    if directory.exists():
        shutil.rmtree(directory)
    os.replace(tmp, directory)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def lexical_dir(store: Store, version: str) -> Path:
    """Where the lexical index of one code-set version lives (see :meth:`Store.local_dir`)."""
    return store.local_dir() / "lexical" / version


def index_ready(directory: Path, version: str) -> bool:
    try:
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (meta.get("format") == FORMAT and meta.get("code_set_version") == version
            and all((directory / name).is_file() for name in _QUERY_FILES))


#: The files a query reads besides meta.json (bm25s's own and ours): one missing means a rebuild.
_QUERY_FILES = ("codes.txt", "billable.npy", "doc_code.npy", "variants.npz", "words.json", "descriptions.txt",
                "synonyms.tsv", "data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy",
                "vocab.index.json")


@dataclass
class LexicalIndex:
    """A loaded lexical index: BM25 scores per code, spelling correction, the variant table."""

    directory: Path
    codes: list[str]
    billable: np.ndarray
    doc_code: np.ndarray
    variants: VariantTable
    _data: np.ndarray
    _indices: np.ndarray
    _indptr: np.ndarray
    _vocab: dict[str, int]
    _stopwords: frozenset[str]
    _qualifiers: dict[tuple[int, frozenset[str]], frozenset[str]] = field(default_factory=dict, repr=False)
    _said: dict[int, frozenset[str]] = field(default_factory=dict, repr=False)
    _title_words: dict[int, frozenset[str]] = field(default_factory=dict, repr=False)
    _plurals: dict[int, frozenset[str]] = field(default_factory=dict, repr=False)
    _residual: dict[int, int | None] = field(default_factory=dict, repr=False)
    _wording_qualifiers: dict[tuple[int, frozenset[str]], tuple[frozenset[str], ...]] = field(default_factory=dict,
                                                                                              repr=False)
    _title_qualifiers: dict[tuple[int, frozenset[str]], tuple[frozenset[str], ...]] = field(default_factory=dict,
                                                                                            repr=False)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        try:
            meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT:
                raise StoreError(f"lexical index {directory} has format {meta.get('format')}, not {FORMAT}: "
                                 "run `icdsearch ingest` to rebuild it")
            variants = np.load(directory / "variants.npz")
            billable = np.load(directory / "billable.npy")
            return cls(
                directory=directory,
                codes=(directory / "codes.txt").read_text(encoding="utf-8").split("\n"),
                billable=billable,
                doc_code=np.load(directory / "doc_code.npy"),
                variants=VariantTable(variants["group"], variants["side"], variants["suffix"], tuple(meta["suffixes"]),
                                      billable, variants["end"]),
                _data=np.load(directory / "data.csc.index.npy", mmap_mode="r"),
                _indices=np.load(directory / "indices.csc.index.npy", mmap_mode="r"),
                _indptr=np.load(directory / "indptr.csc.index.npy"),
                _vocab=json.loads((directory / "vocab.index.json").read_text(encoding="utf-8")),
                _stopwords=frozenset(meta["stopwords"]),
            )
        except (OSError, ValueError, KeyError) as exc:
            raise StoreError(f"lexical index {directory} cannot be read ({exc}): run `icdsearch ingest` "
                             "to rebuild it") from None

    @functools.cached_property
    def position(self) -> dict[str, int]:
        return {code: i for i, code in enumerate(self.codes)}

    @functools.cached_property
    def descriptions(self) -> list[str]:
        """Each code's official description, in the order of :attr:`codes`."""
        return self._read("descriptions.txt").split("\n")

    @functools.cached_property
    def synonym_texts(self) -> dict[str, str]:
        """Synonym document id (``I10~1``) -> its text, as the synonym collection stores it."""
        text = self._read("synonyms.tsv")
        return dict(line.split("\t", 1) for line in text.split("\n")) if text else {}

    def qualifiers(self, index: int, named: frozenset[str] = frozenset()) -> frozenset[str]:
        """Tokens of code ``index``'s description that ask something of a query (see steering.prefer_general);
        ``named``: the ICD-10-CM defaults the query overrides (steering.named_defaults), whose words then ask
        something too ("accidental (unintentional)" when it names an intent)."""
        found = self._qualifiers.get((index, named))
        if found is None:
            from .steering import qualifier_text

            words = self.query_words(qualifier_text(self.descriptions[index], named))
            found = self._qualifiers[(index, named)] = words
        return found

    def said(self, index: int) -> frozenset[str]:
        """:meth:`query_words` of code ``index``'s whole description, "without ..." clauses included."""
        found = self._said.get(index)
        if found is None:
            found = self._said[index] = self.query_words(self.descriptions[index])
        return found

    def plurals(self, index: int) -> frozenset[str]:
        """The plural words of code ``index``'s description (steering.plurals)."""
        found = self._plurals.get(index)
        if found is None:
            from .steering import plurals

            found = self._plurals[index] = plurals(self.descriptions[index], self.word_counts)
        return found

    def residual_header(self, index: int) -> int | None:
        """The ancestor of code ``index`` titled what its description says without its leading "Other", side
        and encounter apart (steering.residual_core): H49 "Paralytic strabismus" for H49.889 "Other paralytic
        strabismus, unspecified eye"; None where there is none."""
        if index not in self._residual:
            from .steering import residual_core

            found, core = None, residual_core(self.descriptions[index])
            if core is not None:
                up = self.parent(index)
                while up is not None and found is None:
                    if residual_core(self.descriptions[up], other=False) == core:
                        found = up
                    up = self.parent(up)
            self._residual[index] = found
        return self._residual[index]

    def title_words(self, index: int) -> frozenset[str]:
        """Every token of code ``index``'s description (accents off), "unspecified" and the encounter too."""
        found = self._title_words.get(index)
        if found is None:
            found = self._title_words[index] = self.all_words(self.descriptions[index])
        return found

    def wording_qualifiers(self, index: int, named: frozenset[str] = frozenset()) -> tuple[frozenset[str], ...]:
        """:meth:`qualifiers` of each other wording of code ``index``: its synonyms (inclusion terms, ...)
        and its description as ICD-10-CM's conventions also read it (steering.wordings: nonessential
        modifiers, bracketed synonyms, "and" meaning "and/or")."""
        found = self._wording_qualifiers.get((index, named))
        if found is None:
            from .steering import qualifier_text, wordings

            synonyms = self._synonyms_by_code.get(self.codes[index], ())
            title = self.descriptions[index]
            if _ELSEWHERE.search(title):
                # A manifestation code's inclusion terms keep its title's context: N16's "Pyelonephritis" is
                # pyelonephritis in diseases classified elsewhere, not pyelonephritis NOS (N12).
                synonyms = tuple(t if _ELSEWHERE.search(t) else f"{t} in diseases classified elsewhere" for t in synonyms)
            found = tuple(
                [self.query_words(qualifier_text(t, named | {"intent"})) for t in synonyms]
                + [self.query_words(qualifier_text(t, named)) for t in wordings(title)]
                # the title with its nonessential modifiers, which qualifiers() leaves out: "fatty change of
                # liver" is what K76.0 "Fatty (change of) liver, ..." says exactly
                + ([self.query_words(qualifier_text(title, named, modifiers=True))] if "(" in title else []))
            parent = self.parent(index)
            if parent is not None and self.qualifiers(parent, named) == self.qualifiers(index, named):
                # It says what its header says and only defaults more ("Non-Hodgkin lymphoma, unspecified,
                # unspecified site" under "Non-Hodgkin lymphoma, unspecified"): the header's wordings are its own.
                found += self.wording_qualifiers(parent, named)
            self._wording_qualifiers[(index, named)] = found
        return found

    def title_qualifiers(self, index: int, named: frozenset[str] = frozenset()) -> tuple[frozenset[str], ...]:
        """:meth:`qualifiers` of code ``index``'s title and of its readings by its bracketed synonyms
        (steering.synonym_wordings): what the title itself says, inclusion terms left out."""
        found = self._title_qualifiers.get((index, named))
        if found is None:
            from .steering import qualifier_text, synonym_wordings

            found = self._title_qualifiers[(index, named)] = (
                self.qualifiers(index, named),
                *(self.query_words(qualifier_text(t, named)) for t in synonym_wordings(self.descriptions[index])))
        return found

    def parent(self, index: int) -> int | None:
        """The index of the code's nearest ancestor in the index (C85.90 -> C85.9), or None for a category."""
        code = self.codes[index]
        while len(code) > 3:
            code = code[:-1].rstrip(".")
            if code in self.position:
                return self.position[code]
        return None

    @functools.cached_property
    def _synonyms_by_code(self) -> dict[str, list[str]]:
        by_code: dict[str, list[str]] = {}
        for doc_id, text in self.synonym_texts.items():
            by_code.setdefault(doc_id.split("~", 1)[0], []).append(text)
        return by_code

    def query_words(self, text: str) -> frozenset[str]:
        """A query's tokens as :meth:`qualifiers` compares them (accents off, no one-letter words, none of
        steering's DEFAULT_WORDS: "diabetes mellitus" asks no more than "diabetes")."""
        text = _LETTER_NAMED.sub(r"\1_\2", fold(text))
        return frozenset(w for w in self.tokens(text) if (len(w) > 1 or w.isdigit()) and w not in self._default_words)

    @functools.cached_property
    def _default_words(self) -> frozenset[str]:
        from .steering import DEFAULT_WORDS

        return frozenset(self.tokens(" ".join(DEFAULT_WORDS))) | frozenset(DEFAULT_WORDS)

    def _read(self, name: str) -> str:
        try:
            return (self.directory / name).read_text(encoding="utf-8")
        except OSError as exc:
            raise StoreError(f"lexical index {self.directory} cannot be read ({exc}): run `icdsearch ingest` "
                             "to rebuild it") from None

    @functools.cached_property
    def _stem(self):  # type: ignore[no-untyped-def]
        import Stemmer

        return Stemmer.Stemmer(STEMMER).stemWord

    def tokens(self, text: str) -> list[str]:
        """The query's tokens exactly as bm25s.tokenize makes them (lower case, stop words out, stemmed)."""
        stem = self._stem
        return [stem(w) for w in _TOKEN.findall(join_non(text.lower())) if w not in self._stopwords]

    @functools.cached_property
    def _accented(self) -> dict[str, tuple[int, ...]]:
        """Accented index tokens by their accent-free form: ICD-10-CM writes "Ménière", "Sjögren",
        "Boutonnière"; people type "menieres", "sjogren", "boutonniere"."""
        found: dict[str, list[int]] = {}
        for token, i in self._vocab.items():
            if not token.isascii():
                found.setdefault(fold(token), []).append(i)
        return {token: tuple(ids) for token, ids in found.items()}

    def _token_ids(self, token: str) -> list[int]:
        """The index's ids of a query token (accents off): itself and its accented forms."""
        exact = self._vocab.get(token)
        return ([] if exact is None else [exact]) + list(self._accented.get(token, ()))

    @functools.cached_property
    def _forms(self) -> dict[str, tuple[str, ...]]:
        """Stem -> the stems of its other word forms: venous: vein, from :data:`WORD_FORMS_PATH`; a noun in
        "-osis" / "-asis" (or a plural in "-oses") and its adjective in "-otic" / "-atic" where the index has
        both (psychosis: psychotic, psoriasis: psoriatic, metastasis: metastatic, mycoses: mycotic); a noun in
        "-ia" and its adjective in "-ic" where the indexed text uses both (eosinophilia: eosinophilic,
        ischemia: ischemic); a number in digits and in Roman numerals (4: IV). Steering reads the pairs but
        the plural's as one word too (steering._same_word)."""
        from .steering import ROMAN, _osis_otic

        found: dict[str, set[str]] = {}
        words = self.word_counts
        pairs = [(self._stem(adjective), self._stem(noun)) for adjective, noun in load_word_forms()]
        # and a noun in "-osis" / "-asis" with its adjective in "-otic" / "-atic", both in the index
        pairs += [(t[:-2] + "t", t) for t in self._vocab if _osis_otic(t, t[:-2] + "t") and t[:-2] + "t" in self._vocab]
        # and the plural's stem ("mycos" of "mycoses") with the same adjective, where the text has the plural
        pairs += [(t[:-1] + "t", t) for t in self._vocab
                  if t.endswith("os") and t + "es" in words and t[:-1] + "t" in self._vocab]
        # and a noun in "-ia" with its adjective in "-ic": the stemmer keeps "eosinophilia" whole and makes
        # "eosinophil" of "eosinophilic". The text must use the "-ic" word itself, else the shorter stem is
        # another word's ("malaria": "malar", of the cheek; "vaccinia": "vaccine").
        pairs += [(t[:-2], t) for t in self._vocab
                  if len(t) >= 6 and t.endswith("ia") and t[:-2] in self._vocab and t[:-2] + "ic" in words]
        # and a number in digits and in Roman numerals, both in the index ("class 4": K08.104's "class IV")
        pairs += [(digit, roman) for digit, roman in ROMAN.items() if digit in self._vocab and roman in self._vocab]
        for a, b in pairs:
            found.setdefault(a, set()).add(b)
            found.setdefault(b, set()).add(a)
        return {k: tuple(sorted(v)) for k, v in found.items()}

    def all_words(self, text: str) -> frozenset[str]:
        """Every token of a text (accents off), default words included."""
        return frozenset(self.tokens(fold(text)))

    def document_scores(self, text: str) -> np.ndarray:
        """BM25 score of every document (descriptions, then synonyms), as bm25s.BM25.get_scores, except that
        a query word with other forms in data/word_forms.csv ("venous", "vein", "veins") adds the best score
        among its forms' tokens: "other venous disorders" finds I87 "Other disorders of veins"."""
        scores = np.zeros(len(self.doc_code), dtype=np.float32)
        for token in self.tokens(fold(text)):
            forms = self._forms.get(token, ())
            # A word with other forms ("venous": "vein") scores a document by the best of them, once.
            into = np.zeros(len(self.doc_code), dtype=np.float32) if forms else scores
            combine = np.maximum.at if forms else np.add.at
            for t in [i for form in (token, *forms) for i in self._token_ids(form)]:
                start, end = self._indptr[t], self._indptr[t + 1]
                combine(into, self._indices[start:end], self._data[start:end])
            if forms:
                scores += into
        return scores

    def top_codes(self, text: str, n: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The n best codes (index, score), a code scoring by its best document; ``allowed``: bool per code."""
        scores = self.document_scores(text)
        docs = np.flatnonzero(scores != 0)  # nonzero of a bool mask: ten times faster than of floats
        if not len(docs):
            return []
        per_code = np.zeros(len(self.codes), dtype=np.float32)
        np.maximum.at(per_code, self.doc_code[docs], scores[docs])
        nonzero = np.flatnonzero(per_code != 0)
        if allowed is not None:
            nonzero = nonzero[allowed[nonzero]]
        if len(nonzero) > n:
            nonzero = nonzero[np.argpartition(-per_code[nonzero], n - 1)[:n]]
        order = nonzero[np.lexsort((nonzero, -per_code[nonzero]))]
        return [(int(i), float(per_code[i])) for i in order]

    @functools.cached_property
    def word_counts(self) -> dict[str, int]:
        """Surface words of the indexed text and how many documents use each."""
        return json.loads((self.directory / "words.json").read_text(encoding="utf-8"))

    @functools.cached_property
    def _words(self) -> dict[int, list[tuple[str, int]]]:
        by_length: dict[int, list[tuple[str, int]]] = {}
        for word, count in self.word_counts.items():
            by_length.setdefault(len(word), []).append((word, count))
        return by_length

    @functools.cached_property
    def _sorted_words(self) -> list[str]:
        return sorted(self.word_counts)

    def begins(self, prefix: str) -> bool:
        """Whether a word of the indexed text begins with ``prefix`` and goes on: "polio" ("poliomyelitis")."""
        import bisect

        words = self._sorted_words
        at = bisect.bisect_right(words, prefix)
        return at < len(words) and words[at].startswith(prefix)

    def known(self, word: str) -> bool:
        """Whether ICD-10-CM's text uses the word, or another form of it ("tired": "tire")."""
        stem = self._stem(word)
        return word in self.word_counts or stem in self._vocab or stem in self._accented

    def join_compounds(self, text: str, protected: frozenset[str] = frozenset()) -> str:
        """Two words written apart (or hyphenated) that ICD-10-CM writes as one, when it never uses one of
        them alone: "frost bite" is "frostbite" (else "frost", unknown, would be "corrected" to "front"),
        "gall bladder" is "gallbladder". Two words it uses both stay apart ("heart failure"), and so does a
        word that an expansion wrote (``protected``)."""

        def joins(first: str, second: str) -> bool:
            a, b = first.lower(), second.lower()
            return self.known(a + b) and any(not self.known(w) and w not in protected for w in (a, b))

        words = list(_JOINABLE.finditer(text))
        out, end, skip = [], 0, False
        for this, after in zip(words, [*words[1:], None]):
            if skip:
                skip = False
                continue
            if (after is not None and text[this.end():after.start()] in (" ", "-")
                    and joins(this.group(0), after.group(0))):
                out += [text[end:this.start()], (this.group(0) + after.group(0)).lower()]
                end, skip = after.end(), True
        return "".join([*out, text[end:]])

    def correct(self, text: str, protected: frozenset[str] = frozenset()) -> str:
        """Words ICD-10-CM never uses (in any form), of 4+ letters, replaced by the closest word it does use.

        Conservative, so that plain English is left alone: two words it writes as one are joined first
        (:meth:`join_compounds`); a word of 5+ letters that begins a word it uses is a clipped word, left
        alone ("polio" of "poliomyelitis" was "corrected" to "polo", an activity code); a British spelling
        becomes the US one ICD-10-CM uses (:func:`us_spellings`); otherwise the same first letter, at most 1
        edit for words of up to 9 letters, 2 beyond ("thiazide" is no "thiamine", "replanted" no "related");
        ties go to the more frequent word. ``protected``: words never corrected (an expansion's words; the
        query path adds common English words, :func:`icdsearch.shorthand.never_corrected`).
        """
        import Levenshtein

        text = self.join_compounds(text, protected)

        def fix(match: re.Match[str]) -> str:
            word = match.group(0)
            low = word.lower()
            if len(low) < 4 or low in protected or low in self._stopwords or self.known(low):
                return word
            if len(low) >= 5 and self.begins(low):
                return word  # a clipped word ("polio"), not a misspelling: "polo" would be another thing
            for spelling in us_spellings(low):  # "oedema": edits alone would not reach "edema"
                if len(spelling) >= 4 and spelling not in self._stopwords and self.known(spelling):
                    return spelling
            limit = 1 if len(low) <= 9 else 2
            best: tuple[int, int, str] | None = None
            for length in range(len(low) - limit, len(low) + limit + 1):
                for candidate, count in self._words.get(length, ()):
                    if candidate[0] != low[0]:
                        continue
                    d = Levenshtein.distance(low, candidate, score_cutoff=limit + 1)
                    if d == 2 and _swapped(low, candidate):
                        d = 1  # "rigth": one slip of the fingers, not two
                    if d <= limit and (best is None or (d, -count) < best[:2]):
                        best = (d, -count, candidate)
            return best[2] if best else word

        return re.sub(r"[A-Za-z][A-Za-z'-]*[A-Za-z]", fix, text)


#: The words :meth:`LexicalIndex.join_compounds` may join, two at a time.
_JOINABLE = re.compile(r"(?<![\w'])[A-Za-z]{2,}(?![\w'])")


#: British spellings and the US ones ICD-10-CM uses: "anaemia", "haemorrhage", "oedema", "oesophagus",
#: "foetal", "diarrhoea", "tumour", "behaviour", "goitre", "fibre", "hospitalisation", "paralyse".
_BRITISH = (
    (re.compile(r"ae"), "e"),
    (re.compile(r"(?<=[a-z])oe|^oe"), "e"),
    (re.compile(r"our(?=s?$|ed$|ing$|al$)"), "or"),
    (re.compile(r"(?<=[bcdgmt])re(?=s?$|d$)"), "er"),
    (re.compile(r"is(?=ation|e$|es$|ed$|ing$)"), "iz"),
    (re.compile(r"ys(?=e$|es$|ed$|ing$)"), "yz"),
)


def us_spellings(word: str) -> list[str]:
    """US spellings a lower-case British one may stand for, all its British parts changed first, then each
    alone; [] if the word has none. Only a spelling the index knows is taken (:meth:`LexicalIndex.correct`)."""
    changed = [(pattern, us) for pattern, us in _BRITISH if pattern.search(word)]
    if not changed:
        return []
    whole = word
    for pattern, us in changed:
        whole = pattern.sub(us, whole)
    singles = [pattern.sub(us, word) for pattern, us in changed] if len(changed) > 1 else []
    return list(dict.fromkeys([whole, *singles]))


#: A manifestation code's title: coded after the underlying disease, never for the manifestation alone.
_ELSEWHERE = re.compile(r"\bin (?:\w+ )?diseases classified elsewhere\b", re.IGNORECASE)


def _swapped(a: str, b: str) -> bool:
    """Whether b is a with two adjacent letters swapped."""
    if len(a) != len(b):
        return False
    diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
