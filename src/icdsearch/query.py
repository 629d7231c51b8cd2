"""Query: the k codes that best match what a user wrote.

Two modes. ``dense`` is the paper's setup: embed the query, take the nearest code descriptions. ``hybrid``
(the default) is what a coder would trust: the query's abbreviations and lay words are expanded and its
misspellings corrected (:mod:`shorthand`, :mod:`lexical`); dense search runs over descriptions *and*
ICD-10-CM's synonyms (inclusion terms, Includes notes; a code scores by its best document); a BM25 ranking
over the same text is fused with it by reciprocal rank fusion; and laterality / encounter words steer among
sibling codes (:mod:`steering`). Each part can be switched off (:class:`Pipeline`), so ``evaluate
--ablation`` can show what it adds.

A query that is itself a code ("E11.9", "e119", "E119") answers that code first, then its nearest
neighbours by stored vector (no model needed).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .codeset import CodeSet, code_set_version, normalize_code
from .collections import (
    CodeCollection,
    CollectionInfo,
    Store,
    StoreConfig,
    as_store,
    check_compatible,
    collection_name,
    synonym_collection_name,
)
from .errors import BadQuery, CollectionNotFound, IncompleteCollection, StoreError
from .models import ModelSpec, load_embedder, resolve_model
from .results import Hit

if TYPE_CHECKING:
    from .lexical import LexicalIndex


@dataclass(frozen=True)
class Pipeline:
    """Which parts of retrieval a search uses. All off is the paper's dense setup."""

    synonyms: bool = True  # dense search over ICD-10-CM synonyms too, a code scoring by its best document
    lexical: bool = True  # BM25 ranking fused with the dense one (reciprocal rank fusion)
    abbreviations: bool = True  # expand abbreviations / shorthand / lay words, correct misspellings
    steering: bool = True  # laterality and encounter words pick among sibling codes
    depth: int = 100  # candidates each ranker contributes
    rrf_k: float = 30.0  # reciprocal rank fusion constant (tuned on the shorthand tune split)
    lexical_weight: float = 0.5  # weight of the BM25 ranking against the dense one (1; tuned likewise)

    @property
    def dense_only(self) -> bool:
        return not (self.synonyms or self.lexical or self.abbreviations or self.steering)


MODES: dict[str, Pipeline] = {"hybrid": Pipeline(), "dense": Pipeline(False, False, False, False)}
DEFAULT_MODE = "hybrid"
#: evaluate --ablation: the paper's setup, each part added alone, then everything.
ABLATION: tuple[tuple[str, Pipeline], ...] = (
    ("dense (paper)", MODES["dense"]),
    ("+ synonyms", Pipeline(True, False, False, False)),
    ("+ lexical fusion", Pipeline(False, True, False, False)),
    ("+ abbreviations", Pipeline(False, False, True, False)),
    ("+ steering", Pipeline(False, False, False, True)),
    ("all (hybrid)", MODES["hybrid"]),
)


PARTS = ("synonyms", "lexical", "abbreviations", "steering")


def resolve_mode(mode: str | Pipeline | None = None, without: Sequence[str] = ()) -> Pipeline:
    """A named mode ("hybrid", the default, or "dense") or a Pipeline, with the ``without`` parts switched off."""
    if isinstance(mode, Pipeline):
        pipeline = mode
    else:
        name = mode or DEFAULT_MODE
        if name not in MODES:
            raise BadQuery(f"unknown mode {name!r}: choose one of {', '.join(MODES)}")
        pipeline = MODES[name]
    unknown = [part for part in without if part not in PARTS]
    if unknown:
        raise BadQuery(f"unknown part {unknown[0]!r}: --without takes {', '.join(PARTS)}")
    return replace(pipeline, **{part: False for part in without})

MAX_K = 1000
#: Longer text is refused rather than silently cut: the model reads at most a few hundred tokens.
MAX_QUERY_CHARS = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def validate_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int):
        raise BadQuery(f"k must be a whole number, got {k!r}")
    if not 1 <= k <= MAX_K:
        raise BadQuery(f"k must be between 1 and {MAX_K}, got {k}")
    return k


def _validate_text(text: object) -> str:
    """Strip, turn control characters into spaces; refuse empty and over-long text."""
    if not isinstance(text, str):
        raise BadQuery(f"a query must be text, got {type(text).__name__}")
    cleaned = " ".join(_CONTROL.sub(" ", text).split())
    if not cleaned:
        raise BadQuery('the query is empty: give the words to search for, e.g. icdsearch query "high blood pressure"')
    if len(cleaned) > MAX_QUERY_CHARS:
        raise BadQuery(f"the query is {len(cleaned):,} characters long; at most {MAX_QUERY_CHARS:,} are searched "
                       "meaningfully: give the diagnosis, not a whole note")
    return cleaned


def build_where(billable_only: bool = False, category: str | None = None) -> dict[str, Any] | None:
    """The Chroma metadata filter for ``--billable-only`` and ``--category``."""
    clauses: list[dict[str, Any]] = []
    if billable_only:
        clauses.append({"billable": True})
    if category is not None:
        cat = category.strip().upper()
        if not re.fullmatch(r"[A-Z][0-9][0-9A-Z]", cat):
            raise BadQuery(f"--category takes a three-character category such as E11, got {category!r}")
        clauses.append({"category": cat})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def open_collection(
    model: str | ModelSpec | None = None,
    codes: str | CodeSet = "all",
    store: Store | StoreConfig | str | None = None,
) -> tuple[ModelSpec, CodeCollection, CollectionInfo]:
    """The ingested, complete collection of (model, code set), checked against the model."""
    spec = model if isinstance(model, ModelSpec) else resolve_model(model)
    version = code_set_version(codes)
    store = as_store(store)
    name = collection_name(spec, version)
    codes_flag = "" if codes == "all" else f" --codes {codes if isinstance(codes, str) else version}"
    try:
        collection = store.open(name)
    except CollectionNotFound:
        raise CollectionNotFound(
            f"model {spec.name} has no collection for code set {version} in {store.describe()}: "
            f"run `icdsearch ingest -m {spec.name}{codes_flag}` first"
        ) from None
    info = CollectionInfo(name, 0, collection.metadata)
    check_compatible(info, spec, version)
    if not info.complete:
        raise IncompleteCollection(
            f"collection {name} is incomplete ({collection.count()} of {info.metadata.get('code_count', '?')} codes; "
            f"an ingest was interrupted): run `icdsearch ingest -m {spec.name}{codes_flag}` to finish it"
        )
    return spec, collection, info


def search_many(
    queries: Sequence[str],
    k: int = 10,
    *,
    model: str | ModelSpec | None = None,
    codes: str | CodeSet = "all",
    store: Store | StoreConfig | str | None = None,
    billable_only: bool = False,
    category: str | None = None,
    mode: str | Pipeline | None = None,
) -> list[list[Hit]]:
    """Ranked hits for each query, in order. Text queries are embedded together in one batch.

    Opens the collection for this call; for many calls, open a :class:`Searcher` once."""
    k = validate_k(k)
    resolve_mode(mode)
    for q in queries:  # bad input is refused before the store is opened
        _validate_text(q)
    build_where(billable_only, category)
    try:
        return Searcher(model, codes, store, mode).search_many(queries, k, billable_only=billable_only,
                                                              category=category)
    except StoreError:
        if not _COMPANIONS:
            raise
        _COMPANIONS.clear()  # a companion deleted or rebuilt on its own: open it afresh, once
        return Searcher(model, codes, store, mode).search_many(queries, k, billable_only=billable_only,
                                                              category=category)


class Searcher:
    """One ingested collection, opened once, for many queries (a RAG prototype's retriever): the store's
    collections, the model and the lexical index are opened here, not on every call as :func:`search` does.

    It answers from the collection as it was when opened: after `icdsearch ingest --rebuild` or a delete
    (in this or another process), open a new one.
    """

    def __init__(self, model: str | ModelSpec | None = None, codes: str | CodeSet = "all",
                 store: Store | StoreConfig | str | None = None, mode: str | Pipeline | None = None) -> None:
        self.pipeline = resolve_mode(mode)
        self.store = as_store(store)
        self.spec, self.collection, self.info = open_collection(model, codes, self.store)
        self._retriever: Retriever | None = None  # opened by the first text query (a code query needs none)

    def search(self, query: str, k: int = 10, *, billable_only: bool = False,
               category: str | None = None) -> list[Hit]:
        """The k codes that best match ``query``, best first."""
        return self.search_many([query], k, billable_only=billable_only, category=category)[0]

    def read(self, query: str) -> str:
        """How hybrid retrieval reads ``query`` (:func:`read_query`): "hit by car" is "pedestrian injured in
        collision with car", "T2DM w/o complications" "type 2 diabetes mellitus without complications". The
        text itself in dense mode, and for a code, which is looked up as it is."""
        text = _validate_text(query)
        if self.pipeline.dense_only or normalize_code(text):
            return text
        lexical = (self._retriever.lexical if self._retriever is not None
                   else lexical_index(self.store, self.info.code_set_version))
        return read_query(text, lexical, self.pipeline)

    def search_many(self, queries: Sequence[str], k: int = 10, *, billable_only: bool = False,
                    category: str | None = None) -> list[list[Hit]]:
        """Ranked hits for each query, in order. Text queries are embedded together in one batch."""
        k = validate_k(k)
        texts = [_validate_text(q) for q in queries]
        where = build_where(billable_only, category)
        collection = self.collection

        results: list[list[Hit] | None] = [None] * len(texts)
        for i, text in enumerate(texts):
            code = normalize_code(text)
            found = collection.lookup(code, where) if code else None
            if found:
                hit, vector = found
                neighbours = [h for h in collection.query(vector[None, :], k, where)[0] if h.code != hit.code]
                results[i] = _rerank([hit, *neighbours][:k])

        pending = [i for i, r in enumerate(results) if r is None]
        if pending:
            if self.pipeline.dense_only:
                found = dense_search(self.spec, collection, self.info, [texts[i] for i in pending], k, where)
            else:
                if self._retriever is None:
                    self._retriever = Retriever.open(self.store, self.spec, collection, self.info, self.pipeline)
                found = self._retriever.search([texts[i] for i in pending], k, billable_only=billable_only,
                                               category=_category(category))
            for i, hits in zip(pending, found):
                results[i] = hits
        return [r or [] for r in results]


def dense_search(
    spec: ModelSpec,
    collection: CodeCollection,
    info: CollectionInfo,
    texts: Sequence[str],
    k: int,
    where: dict[str, Any] | None = None,
    ids: Sequence[str] | None = None,
    batch_size: int = 256,
) -> list[list[Hit]]:
    """The paper's setup: embed the texts with the collection's model, take the k nearest codes.

    With ``ids``, the search is exact and limited to those codes (evaluate's ``--corpus benchmark``).
    """
    vectors = load_embedder(spec, str(info.metadata.get("backend", "torch"))).embed_queries(texts)
    check_compatible(info, spec, info.code_set_version, dimension=vectors.shape[1])
    if ids is not None:
        return collection.exact_query(vectors, k, ids)
    # Chroma answers a batch one vector after another on one core and releases the GIL: with more than one
    # query, every other chunk goes to a second thread, so both cores search.
    step = max(1, min(batch_size, -(-len(texts) // 2)))
    chunks = [vectors[start : start + step] for start in range(0, len(texts), step)]
    beside = [_pool().submit(collection.query, chunk, k, where) for chunk in chunks[1::2]]
    here = [collection.query(chunk, k, where) for chunk in chunks[0::2]]
    hits: list[list[Hit]] = []
    for n in range(len(chunks)):
        hits += here[n // 2] if n % 2 == 0 else beside[n // 2].result()
    return hits


def search(
    query: str,
    k: int = 10,
    *,
    model: str | ModelSpec | None = None,
    codes: str | CodeSet = "all",
    store: Store | StoreConfig | str | None = None,
    billable_only: bool = False,
    category: str | None = None,
    mode: str | Pipeline | None = None,
) -> list[Hit]:
    """The k codes that best match ``query``, best first (``mode``: "hybrid", the default, or "dense")."""
    return search_many([query], k, model=model, codes=codes, store=store,
                       billable_only=billable_only, category=category, mode=mode)[0]


def _rerank(hits: list[Hit]) -> list[Hit]:
    return [replace(h, rank=rank) for rank, h in enumerate(hits, 1)]


def _category(category: str | None) -> str | None:
    return category.strip().upper() if category else None


#: Queries per chunk of a hybrid batch: the worker threads search the next chunk while this one is steered.
CHUNK = 64


@functools.lru_cache(maxsize=1)
def _search_pool() -> ThreadPoolExecutor:
    """Two workers for hybrid retrieval: the main collection's search and the synonym companion's, at once."""
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="icdsearch-hybrid")


@functools.lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    """One worker, for half a dense batch, or a hybrid query's BM25 ranking."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="icdsearch-search")


@functools.lru_cache(maxsize=4)
def _load_lexical(directory: Path, stamp: float) -> LexicalIndex:
    from .lexical import LexicalIndex

    return LexicalIndex.load(directory)


def lexical_index(store: Store, version: str) -> LexicalIndex:
    """The store's lexical index for a code-set version, loaded once per process (reloaded if rebuilt)."""
    from .lexical import lexical_dir

    directory = lexical_dir(store, version)
    meta = directory / "meta.json"
    if not meta.is_file():
        raise IncompleteCollection(f"{store.describe()} has no lexical index for code set {version} on this "
                                   "machine: run `icdsearch ingest` (with the same -m and --codes) to build it, "
                                   "or search with --mode dense")
    return _load_lexical(directory, meta.stat().st_mtime)


#: Complete synonym companions opened by this process, by (store, main collection's Chroma id). A rebuild
#: or delete gives the main collection a new id (or none), so :func:`search`, which opens the main
#: collection on every call, pays Chroma's open once, not twice; a companion deleted on its own makes
#: the next query fail, and :func:`search_many` then forgets these and opens afresh.
_COMPANIONS: dict[tuple[StoreConfig, str], CodeCollection] = {}


def _synonyms(store: Store, collection: CodeCollection, spec: ModelSpec) -> CodeCollection:
    """The complete synonym companion of ``collection``."""
    key = (store.config, collection.id)
    if key in _COMPANIONS:
        return _COMPANIONS[key]
    name = synonym_collection_name(collection.name)
    try:
        synonyms = store.open(name)
    except CollectionNotFound:
        synonyms = None
    if synonyms is None or not synonyms.metadata.get("complete"):
        raise IncompleteCollection(
            f"collection {collection.name} has no complete synonym index ({name}): run "
            f"`icdsearch ingest -m {spec.name}` (with the same --codes) to add it, or search with --mode dense"
        )
    if len(_COMPANIONS) >= 16:
        _COMPANIONS.clear()
    _COMPANIONS[key] = synonyms
    return synonyms


def read_query(text: str, lexical: LexicalIndex, pipeline: Pipeline) -> str:
    """The query in ICD-10-CM's words, as hybrid retrieval reads it: abbreviations and lay words expanded,
    phrasings such as a collision, a fall or a pregnancy's weeks written as ICD-10-CM titles them
    (:func:`icdsearch.shorthand.read_as_icd`), misspellings corrected. The text itself where the pipeline's
    abbreviations are off."""
    if not pipeline.abbreviations:
        return text
    from .shorthand import default_expander, never_corrected, read_as_icd

    return lexical.correct(read_as_icd(default_expander().expand(text)), never_corrected())


@dataclass
class Retriever:
    """Hybrid retrieval over one ingested collection: the parts :class:`Pipeline` switches on."""

    spec: ModelSpec
    collection: CodeCollection
    info: CollectionInfo
    pipeline: Pipeline
    lexical: LexicalIndex
    synonyms: CodeCollection | None

    @classmethod
    def open(cls, store: Store, spec: ModelSpec, collection: CodeCollection, info: CollectionInfo,
             pipeline: Pipeline) -> Retriever:
        synonyms = _synonyms(store, collection, spec) if pipeline.synonyms else None
        return cls(spec, collection, info, pipeline, lexical_index(store, info.code_set_version), synonyms)

    def rewrite(self, text: str) -> str:
        """The query in ICD-10-CM's words (:func:`read_query`)."""
        return read_query(text, self.lexical, self.pipeline)

    def allowed(self, billable_only: bool, category: str | None, ids: Sequence[str] | None) -> np.ndarray | None:
        """Which codes may be answered (bool per code of the lexical index), or None for all."""
        if not billable_only and category is None and ids is None:
            return None
        mask = np.ones(len(self.lexical.codes), dtype=bool)
        if billable_only:
            mask &= self.lexical.billable
        if category is not None:
            mask &= np.array([c.startswith(category) for c in self.lexical.codes])
        if ids is not None:
            keep = np.zeros_like(mask)
            keep[[self.lexical.position[c] for c in ids if c in self.lexical.position]] = True
            mask &= keep
        return mask

    def search(self, texts: Sequence[str], k: int, *, billable_only: bool = False, category: str | None = None,
               ids: Sequence[str] | None = None, batch_size: int = 256) -> list[list[Hit]]:
        """Ranked hits per text. With ``ids``, only those codes are searched (exactly)."""
        from .steering import (
            GENERAL_WINDOW,
            collision_category,
            exact_wording_qualifiers,
            history_intent,
            intent_words,
            named_defaults,
            parse_intent,
            plain_words,
            prefer_collision,
            population_intent,
            prefer_consistent,
            prefer_default_type,
            prefer_exact,
            prefer_general,
            prefer_header,
            prefer_history,
            prefer_other,
            prefer_specific,
            prefer_traumatic_fracture,
            prefer_unrestricted,
            plurals,
            says_alternatives,
            says_exactly,
            says_plural,
            says_exactly_any,
            says_nec,
            steer,
        )

        rewritten = [self.rewrite(t) for t in texts]
        # Headers stay in the ranking so that, with billable_only, steering can hand their place to their
        # best-fitting billable descendant; only the final answer is limited to billable codes.
        where = build_where(False, category)
        allowed = self.allowed(False, category, ids)
        answerable = self.allowed(billable_only, category, ids)
        depth = max(self.pipeline.depth, k)
        # BM25 needs only the rewritten text: it ranks in a worker while the queries are embedded and searched.
        ranking = _pool().submit(lambda: [self._lexical_rank(t, depth, allowed) for t in rewritten])
        vectors = load_embedder(self.spec, str(self.info.metadata.get("backend", "torch"))).embed_queries(rewritten)
        check_compatible(self.info, self.spec, self.info.code_set_version, dimension=vectors.shape[1])

        # The two collections are searched at once, the synonym companion in a worker thread: Chroma's search
        # releases the GIL, so on two cores a query pays Chroma's fixed cost once, not twice. A batch of more
        # than one chunk is searched in two worker threads, chunk after chunk, while this thread fuses and
        # steers the chunks already found: its Python overlaps Chroma's search of the next chunk.
        step = len(texts) if ids is not None else CHUNK  # an exact search reads its codes' vectors once
        pool, here = _search_pool(), len(texts) <= step

        def searched(start: int) -> tuple[Future[list[list[tuple[str, float]]]], Future[Any] | None]:
            block = vectors[start : start + step]
            syn = pool.submit(self._dense, self.synonyms, block, depth, where, ids, batch_size, True) \
                if self.synonyms else None
            if not here:
                return pool.submit(self._dense, self.collection, block, depth, where, ids, batch_size), syn
            main: Future[list[list[tuple[str, float]]]] = Future()
            main.set_result(self._dense(self.collection, block, depth, where, ids, batch_size))
            return main, syn

        found = [searched(start) for start in range(0, len(texts), step)]

        position, codes = self.lexical.position, self.lexical.codes
        ranked: list[list[str]] = []
        bests: list[dict[str, tuple[float, str]]] = []
        for q, text in enumerate(rewritten):
            lexical = ranking.result()[q]
            main, companion = found[q // step]
            dense, syn = main.result()[q % step], companion.result()[q % step] if companion else []
            best: dict[str, tuple[float, str]] = {}  # code -> (distance, id of its best document)
            for doc, distance in [*dense, *syn]:
                code = doc.split("~", 1)[0]
                if code not in best or distance < best[code][0]:
                    best[code] = (distance, doc)
            dense_rank = sorted(best, key=lambda c: (best[c][0], c))
            fused = self._fuse(dense_rank, lexical)
            indices = [position[c] for c in fused if c in position]
            if self.pipeline.steering:
                # the query's words, with ICD-10-CM's word for an intent said in other words
                worded = f"{text} {intent_words(text)}"
                named, words = named_defaults(text), self.lexical.query_words(worded)
                intent = parse_intent(text)
                # A fracture of no named cause is an injury even where the injury code ranks deep ("broken
                # right ankle"); before steering, so that the query's side and encounter pick among its codes.
                indices = prefer_traumatic_fracture(indices, text, self.lexical.descriptions.__getitem__,
                                                    deep=(self._wordings, words))
                # Who was hurt and by what, which words alone cannot order: V03, not V40, for "hit by car".
                indices = prefer_collision(indices, collision_category(text), codes.__getitem__, position.get)
                indices = steer(indices, intent, self.lexical.variants, billable_first=billable_only,
                                limit=3 * max(k, GENERAL_WINDOW),  # the same first answers whatever k
                                says=lambda i: self.lexical.qualifiers(i, named))
            indices = [i for i in indices if answerable is None or answerable[i]]
            if self.pipeline.steering:  # after the filter: the rules weigh the codes that can be answered
                indices = prefer_default_type(indices, named, codes, position,
                                              lambda i: answerable is None or bool(answerable[i]))
                qualifiers = exact_wording_qualifiers(indices, words, lambda i: self.lexical.qualifiers(i, named),
                                                      lambda i: self.lexical.wording_qualifiers(i, named))
                indices = prefer_history(indices, history_intent(text), self.lexical.descriptions.__getitem__)
                indices = prefer_traumatic_fracture(indices, text, self.lexical.descriptions.__getitem__)
                indices = prefer_exact(indices, words, qualifiers, title=lambda i: self.lexical.qualifiers(i, named))
                indices = prefer_unrestricted(indices, population_intent(text), words, codes.__getitem__,
                                              self._wordings)
                indices = prefer_general(indices, words, qualifiers, lambda i: codes[i][:3], self.lexical.variants,
                                         said=self.lexical.said, intent=intent)
                indices = prefer_consistent(indices, plain_words(text),
                                            lambda i: plain_words(self.lexical.descriptions[i]),
                                            code=codes.__getitem__)
                indices = prefer_other(indices, self.lexical.all_words(worded), self.lexical.title_words,
                                       nec=says_nec(text))
                if not billable_only:  # among all codes, a header that the query says all of
                    plural = says_plural(plurals(text, self.lexical.word_counts), self.lexical.plurals)
                    indices = prefer_header(indices, self.lexical.all_words(worded), self.lexical.title_words,
                                            self.lexical.parent, says_exactly(words, qualifiers),
                                            says_exactly_any(words, lambda i: self.lexical.title_qualifiers(i, named)),
                                            intent, self.lexical.variants, alternatives=says_alternatives(text),
                                            plural=plural, synonyms=self.lexical.wording_qualifiers,
                                            residual=self.lexical.residual_header)
                    indices = prefer_specific(indices, self.lexical.all_words(worded), self.lexical.title_words,
                                              lambda i: self.lexical.qualifiers(i, named),
                                              lambda i: bool(self.lexical.billable[i]),
                                              lambda i: int(self.lexical.variants.end[i]),
                                              parent=self.lexical.parent, alternatives=says_alternatives(text),
                                              synonyms=self.lexical.wording_qualifiers, plural=plural)
            ranked.append([codes[i] for i in indices][:k])
            bests.append(best)
        return self._hits(ranked, bests, vectors)

    def _wordings(self, index: int) -> tuple[frozenset[str], ...]:
        """The words of code ``index``'s description, then of each of its other wordings (synonyms, ...)."""
        return (self.lexical.said(index), *self.lexical.wording_qualifiers(index))

    def _hits(self, ranked: list[list[str]], bests: list[dict[str, tuple[float, str]]],
              vectors: np.ndarray) -> list[list[Hit]]:
        """Hits for the final codes of every query. Descriptions and matched synonyms come from the lexical
        index's copy (written by the same ingest), so a query makes no store read for them; only codes that
        the lexical ranking or steering brought without a dense score cost one read, for their vectors."""
        from .codeset import chapter_of

        lexical = self.lexical
        missing = sorted({c for top, best in zip(ranked, bests) for c in top if c not in best})
        stored = self.collection.vectors(missing) if missing else {}
        out = []
        for top, best, vector in zip(ranked, bests, vectors):
            hits = []
            for code in top:
                if code in best:
                    distance, doc = best[code]
                elif code in stored:
                    distance, doc = float(((stored[code] - vector) ** 2).sum()), code
                else:
                    continue  # in the lexical index but not in the collection: never answered
                i = lexical.position[code]
                hits.append(Hit(rank=len(hits) + 1, code=code, description=lexical.descriptions[i], distance=distance,
                                category=code[:3], chapter=chapter_of(code), billable=bool(lexical.billable[i]),
                                matched=lexical.synonym_texts.get(doc, "") if doc != code else ""))
            out.append(hits)
        return out

    def _dense(self, collection: CodeCollection, vectors: np.ndarray, depth: int, where: dict[str, Any] | None,
               ids: Sequence[str] | None, batch_size: int, synonyms: bool = False) -> list[list[tuple[str, float]]]:
        """(document id, distance) of the nearest documents per vector; exact over ``ids``' documents if given."""
        if ids is not None:
            return collection.exact_nearest(vectors, depth, ids, by_code=synonyms)
        found: list[list[tuple[str, float]]] = []
        for start in range(0, len(vectors), batch_size):
            found += collection.nearest(vectors[start : start + batch_size], depth, where)
        return found

    def _lexical_rank(self, text: str, depth: int, allowed: np.ndarray | None) -> list[str] | None:
        """The BM25 ranking's codes, best first (None with the lexical part off)."""
        if not self.pipeline.lexical:
            return None
        codes = self.lexical.codes
        return [codes[index] for index, _ in self.lexical.top_codes(text, depth, allowed)]

    def _fuse(self, dense_rank: list[str], lexical_rank: list[str] | None) -> list[str]:
        """Reciprocal rank fusion of the dense ranking with the BM25 one (the dense ranking alone if off)."""
        if lexical_rank is None:
            return dense_rank
        kk, weight = self.pipeline.rrf_k, self.pipeline.lexical_weight
        score: dict[str, float] = {}
        for rank, code in enumerate(dense_rank, 1):
            score[code] = 1.0 / (kk + rank)
        for rank, code in enumerate(lexical_rank, 1):
            score[code] = score.get(code, 0.0) + weight / (kk + rank)
        return sorted(score, key=lambda c: (-score[c], c))
