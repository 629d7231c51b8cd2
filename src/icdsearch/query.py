"""Query: the k codes nearest to what a user wrote.

A query that is itself a code ("E11.9", "e119", "E119") answers that code first, then its nearest
neighbours by stored vector (no model needed). Everything else is embedded with the collection's model.
"""

from __future__ import annotations

import re
from dataclasses import replace
from collections.abc import Sequence
from typing import Any

from .codeset import CodeSet, code_set_version, normalize_code
from .collections import CodeCollection, CollectionInfo, Store, StoreConfig, as_store, check_compatible, collection_name
from .errors import BadQuery, CollectionNotFound, IncompleteCollection
from .models import ModelSpec, load_embedder, resolve_model
from .results import Hit

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
) -> list[list[Hit]]:
    """Ranked hits for each query, in order. Text queries are embedded together in one batch."""
    k = validate_k(k)
    texts = [_validate_text(q) for q in queries]
    where = build_where(billable_only, category)
    spec, collection, info = open_collection(model, codes, store)

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
        for i, hits in zip(pending, dense_search(spec, collection, info, [texts[i] for i in pending], k, where)):
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
    hits: list[list[Hit]] = []
    for start in range(0, len(texts), batch_size):
        hits += collection.query(vectors[start : start + batch_size], k, where)
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
) -> list[Hit]:
    """The k codes nearest to ``query``, best first."""
    return search_many([query], k, model=model, codes=codes, store=store,
                       billable_only=billable_only, category=category)[0]


def _rerank(hits: list[Hit]) -> list[Hit]:
    return [replace(h, rank=rank) for rank, h in enumerate(hits, 1)]
