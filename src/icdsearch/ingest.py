"""Ingest: embed a code set's descriptions with a model and write them to that model's collection.

Idempotent and resumable: ids are codes, writes are upserts, and only codes missing from the collection
are embedded. A complete collection costs no model load at all. ``rebuild=True`` starts afresh.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TypeVar

import numpy as np

from .codeset import CodeSet, resolve_code_set, synonym_documents, synonyms
from .collections import (
    SCHEMA,
    CodeCollection,
    CollectionInfo,
    Store,
    StoreConfig,
    as_store,
    check_compatible,
    collection_name,
    package_versions,
    synonym_collection_name,
)
from .errors import BadCodeSet, DamagedCollection, ModelMismatch
from .lexical import build_index, index_ready, lexical_dir
from .models import (INT8_SCHEME, ModelSpec, embedder_for_ingest, load_embedder, resolve_backend, resolve_model,
                     source_fingerprint)
from .vectorcache import cache_for, embed_with_cache

T = TypeVar("T")

#: progress(done, total): codes embedded and written so far, out of the codes this run has to embed.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class IngestReport:
    """What one ingest did."""

    collection: str
    model: str
    code_set_version: str
    total: int  # codes in the code set
    embedded: int  # codes embedded by this run (0 when the collection was already complete)
    resumed: bool  # this run finished a collection an earlier run had left incomplete
    rebuilt: bool
    seconds: float
    repaired: bool = False  # the collection was damaged (a crash mid-write) and was rebuilt from scratch
    synonyms: int = 0  # synonym documents (inclusion terms, Includes notes) in the companion collection
    lexical_built: bool = False  # this run (re)built the lexical index
    cached: int = 0  # vectors (codes and synonyms) taken from the embedding cache instead of the model


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _collection_metadata(spec: ModelSpec, code_set: CodeSet, dimension: int, backend: str) -> dict[str, object]:
    versions = package_versions()
    return {
        "icdsearch_schema": SCHEMA,
        "model": spec.name,
        "backend": backend,
        **({"int8_scheme": INT8_SCHEME} if backend == "onnx-int8" else {}),
        "model_hub_id": spec.hub_id,
        "model_kind": spec.kind,
        "dimension": dimension,
        "normalized": True,
        "distance": "l2 (squared, on unit vectors)",
        "query_prefix": spec.query_prefix,
        "document_prefix": spec.document_prefix,
        "code_set_version": code_set.version,
        "code_set_source": code_set.source,
        "code_count": len(code_set),
        "complete": False,
        "created_at": _now(),
        "updated_at": _now(),
        **{f"version_{name.replace('-', '_')}": value for name, value in versions.items()},
    }


def ingest(
    model: str | ModelSpec | None = None,
    codes: str | CodeSet = "all",
    *,
    store: Store | StoreConfig | str | None = None,
    rebuild: bool = False,
    batch_size: int = 32,
    chunk_size: int = 2048,
    progress: Progress | None = None,
    backend: str | None = None,
) -> IngestReport:
    """Embed every code of ``codes`` ("all", "billable", a CMS/CSV file, or a CodeSet) with ``model``.

    ``backend`` ("onnx", "onnx-int8", "torch"; default onnx-int8, or ``$ICDSEARCH_BACKEND``) applies to a new
    collection; an existing one keeps the backend it was made with (change it with ``rebuild=True``).
    """
    started = time.perf_counter()
    spec = model if isinstance(model, ModelSpec) else resolve_model(model)
    if backend is not None:
        resolve_backend(spec, backend)  # an unknown backend fails before anything is written
    store = as_store(store)
    # A code-set file is parsed before anything is written, so bad input never creates a store. The
    # bundled sets take about 2 s to load: the lock comes first, so a second writer is refused at once.
    bundled = isinstance(codes, str) and codes in ("all", "billable")
    code_set = None if bundled else resolve_code_set(codes)
    with store.write_lock("ingest"):
        return _ingest_locked(spec, code_set or resolve_code_set(codes), store, rebuild, batch_size, chunk_size,
                              progress, backend, started)


def _ingest_locked(spec: ModelSpec, code_set: CodeSet, store: Store, rebuild: bool, batch_size: int,
                   chunk_size: int, progress: Progress | None, backend: str | None, started: float) -> IngestReport:
    if not len(code_set):
        raise BadCodeSet(f"code set {code_set.version} holds no codes: nothing to ingest")
    name = collection_name(spec, code_set.version)
    syn_name = synonym_collection_name(name)

    if rebuild and store.exists() and store.has(name):
        store.delete(name)  # and its synonym companion
    collection, existing, repaired = _open_existing(store, name, spec, code_set.version, backend)
    synonym_collection, existing_syn, syn_repaired = _open_existing(store, syn_name, spec, code_set.version, backend)
    if collection is None and synonym_collection is not None:  # a companion without its collection: start afresh
        store.delete(syn_name)
        synonym_collection, existing_syn = None, set()

    todo = [c for c in code_set if c.code not in existing]
    syn_records = [(doc_id, syn, code_set.get(syn.code)) for doc_id, syn in synonym_documents(synonyms(code_set))]
    syn_todo = [r for r in syn_records if r[0] not in existing_syn]
    for c in (collection, synonym_collection):
        if c is not None:
            c.apply_search_settings()  # a store made by an older icdsearch gets today's ef_search
    if not todo and not syn_todo and collection is not None and synonym_collection is not None:
        for c in (collection, synonym_collection):
            if not c.metadata.get("complete"):
                c.update_metadata(complete=True, updated_at=_now())
        lexical_built = _build_lexical(store, code_set, rebuild)
        return IngestReport(name, spec.name, code_set.version, len(code_set), 0, False, rebuild,
                            time.perf_counter() - started, synonyms=len(syn_records), lexical_built=lexical_built)

    if collection is None:
        embedder = embedder_for_ingest(spec, backend)
        collection = store.create(name, _collection_metadata(spec, code_set, embedder.dimension, embedder.backend))
    else:
        embedder = load_embedder(spec, str(collection.metadata.get("backend", "torch")))
        check_compatible(CollectionInfo(name, 0, collection.metadata), spec, code_set.version, embedder.dimension)
    if synonym_collection is None:
        meta = {**_collection_metadata(spec, code_set, embedder.dimension, embedder.backend),
                "role": "synonyms", "main_collection": name, "code_count": len(syn_records)}
        synonym_collection = store.create(syn_name, meta)

    cache = cache_for(spec.slug, source_fingerprint(spec), embedder.cache_label, embedder.dimension)

    def embed(texts: list[str]) -> np.ndarray:
        nonlocal cached
        vectors, hits = embed_with_cache(lambda t: embedder.embed_documents(t, batch_size=batch_size), texts, cache)
        cached += hits
        return vectors

    total, done, cached = len(todo) + len(syn_todo), 0, 0
    if progress:
        progress(0, total)

    def written(count: int) -> None:
        nonlocal done
        done += count
        if progress:
            progress(done, total)

    # Globally length-sorted chunks: each batch holds texts of similar length, so little padding.
    todo.sort(key=lambda c: len(c.description))
    _pipelined([todo[i : i + chunk_size] for i in range(0, len(todo), chunk_size)],
               lambda chunk: embed([c.description for c in chunk]),
               lambda chunk, vectors: (collection.upsert(chunk, vectors, code_set.version), written(len(chunk))))
    collection.update_metadata(complete=True, code_count=len(code_set), updated_at=_now())

    syn_todo.sort(key=lambda r: len(r[1].short))
    _pipelined([syn_todo[i : i + chunk_size] for i in range(0, len(syn_todo), chunk_size)],
               lambda records: embed([r[1].short for r in records]),
               lambda records, vectors: (synonym_collection.upsert_synonyms(records, vectors, code_set.version),
                                         written(len(records))))
    synonym_collection.update_metadata(complete=True, code_count=len(syn_records), updated_at=_now())
    if cache is not None:
        cache.close()
    lexical_built = _build_lexical(store, code_set, rebuild)
    return IngestReport(name, spec.name, code_set.version, len(code_set), len(todo), bool(existing), rebuild,
                        time.perf_counter() - started, repaired or syn_repaired, len(syn_records), lexical_built,
                        cached)


def _pipelined(chunks: list[list[T]], embed: Callable[[list[T]], np.ndarray],
               write: Callable[[list[T], np.ndarray], object]) -> None:
    """Embed chunk i+1 while chunk i is written: Chroma's index insert and the model both release the GIL,
    so the write costs little wall time. Chunks are written in order, one at a time; on any exit (an error,
    Ctrl-C) the write under way finishes first, so the store holds whole chunks only, as before."""
    from concurrent.futures import Future, ThreadPoolExecutor

    pending: Future[object] | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="icdsearch-write") as writer:
        try:
            for chunk in chunks:
                vectors = embed(chunk)
                if pending is not None:
                    pending.result()  # raises the previous write's error before more is queued
                pending = writer.submit(write, chunk, vectors)
        finally:
            if pending is not None:
                pending.result()


def _build_lexical(store: Store, code_set: CodeSet, rebuild: bool) -> bool:
    """Build the lexical index when missing, stale or asked to; whether it was built."""
    directory = lexical_dir(store, code_set.version)
    if not rebuild and index_ready(directory, code_set.version):
        return False
    build_index(directory, code_set, synonyms(code_set))
    return True


def _open_existing(store: Store, name: str, spec: ModelSpec, version: str,
                   backend: str | None) -> tuple[CodeCollection | None, set[str], bool]:
    """An existing collection checked against the model, its ids, and whether it had to be dropped as damaged."""
    collection = store.open(name) if store.exists() and store.has(name) else None
    if collection is None:
        return None, set(), False
    check_compatible(CollectionInfo(name, 0, collection.metadata), spec, version)
    made_with = str(collection.metadata.get("backend", "torch"))
    if backend is not None and resolve_backend(spec, backend) != made_with:
        raise ModelMismatch(f"collection {name} was made with backend {made_with}, not {backend}: "
                            f"add --rebuild to embed it again with {backend}")
    try:
        return collection, collection.ids(), False
    except DamagedCollection:
        # A crash mid-write can leave the index and Chroma's write log out of step. The collection
        # is derived data: start it afresh rather than refuse to finish the ingest.
        store.delete(name)
        return None, set(), True
