"""Ingest: embed a code set's descriptions with a model and write them to that model's collection.

Idempotent and resumable: ids are codes, writes are upserts, and only codes missing from the collection
are embedded. A complete collection costs no model load at all. ``rebuild=True`` starts afresh.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from .codeset import CodeSet, resolve_code_set
from .collections import (
    SCHEMA,
    CollectionInfo,
    Store,
    StoreConfig,
    as_store,
    check_compatible,
    collection_name,
    package_versions,
)
from .errors import BadCodeSet, DamagedCollection, ModelMismatch
from .models import ModelSpec, embedder_for_ingest, load_embedder, resolve_backend, resolve_model

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


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _collection_metadata(spec: ModelSpec, code_set: CodeSet, dimension: int, backend: str) -> dict[str, object]:
    versions = package_versions()
    return {
        "icdsearch_schema": SCHEMA,
        "model": spec.name,
        "backend": backend,
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

    ``backend`` ("onnx", "onnx-int8", "torch"; default onnx, or ``$ICDSEARCH_BACKEND``) applies to a new
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

    if rebuild and store.exists() and store.has(name):
        store.delete(name)
    collection = store.open(name) if store.exists() and store.has(name) else None
    existing: set[str] = set()
    repaired = False
    if collection is not None:
        check_compatible(CollectionInfo(name, 0, collection.metadata), spec, code_set.version)
        made_with = str(collection.metadata.get("backend", "torch"))
        if backend is not None and resolve_backend(spec, backend) != made_with:
            raise ModelMismatch(f"collection {name} was made with backend {made_with}, not {backend}: "
                                f"add --rebuild to embed it again with {backend}")
        try:
            existing = collection.ids()
        except DamagedCollection:
            # A crash mid-write can leave the index and Chroma's write log out of step. The collection
            # is derived data: start it afresh rather than refuse to finish the ingest.
            store.delete(name)
            collection, repaired = None, True

    todo = [c for c in code_set if c.code not in existing]
    if not todo and collection is not None:
        if not collection.metadata.get("complete"):
            collection.update_metadata(complete=True, code_count=len(code_set), updated_at=_now())
        return IngestReport(name, spec.name, code_set.version, len(code_set), 0, False, rebuild,
                            time.perf_counter() - started)

    if collection is None:
        embedder = embedder_for_ingest(spec, backend)
        collection = store.create(name, _collection_metadata(spec, code_set, embedder.dimension, embedder.backend))
    else:
        embedder = load_embedder(spec, str(collection.metadata.get("backend", "torch")))
        check_compatible(CollectionInfo(name, 0, collection.metadata), spec, code_set.version, embedder.dimension)

    # Globally length-sorted chunks: each batch holds texts of similar length, so little padding.
    todo.sort(key=lambda c: len(c.description))
    done = 0
    if progress:
        progress(0, len(todo))
    for start in range(0, len(todo), chunk_size):
        chunk = todo[start : start + chunk_size]
        vectors = embedder.embed_documents([c.description for c in chunk], batch_size=batch_size)
        collection.upsert(chunk, vectors, code_set.version)
        done += len(chunk)
        if progress:
            progress(done, len(todo))

    collection.update_metadata(complete=True, code_count=len(code_set), updated_at=_now())
    return IngestReport(name, spec.name, code_set.version, len(code_set), len(todo), bool(existing), rebuild,
                        time.perf_counter() - started, repaired)
