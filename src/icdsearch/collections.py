"""The store: the only module that imports chromadb.

A store is an embedded Chroma directory (the default, no server) or a Chroma server (``--host/--port``).
Callers get a :class:`Store` and never see which client it is. One collection per (model, code-set
version), L2 space, made with ``embedding_function=None``: icdsearch brings its own vectors.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .codeset import Code, Synonym
from .errors import CollectionNotFound, DamagedCollection, ModelMismatch, StoreError, StoreLocked, StoreNotFound
from .models import INT8_SCHEME
from .results import Hit

if TYPE_CHECKING:
    from .models import ModelSpec

#: HNSW settings of a code collection. ef_search is above Chroma's 100: lower values lose top-1 answers
#: against exact search; 512 agrees with it on 99.9 % of the benchmark queries and costs about 1.5 ms less a
#: query than 1024 (scripts/bench_hnsw.py measures both; figures in BENCHMARKS.md).
HNSW = {"space": "l2", "ef_construction": 200, "max_neighbors": 16, "ef_search": 512}
#: ef_search of a synonym companion (13,484 documents for the full code set): a smaller graph needs less.
SYNONYM_EF_SEARCH = 256
#: Marks a collection as made by icdsearch, and the layout of its metadata.
SCHEMA = 1
#: The one-writer lock file inside an embedded store directory.
LOCK_FILE = "icdsearch.lock"


def default_store_path() -> str:
    """``$ICDSEARCH_STORE``, else ``$XDG_DATA_HOME/icdsearch/store`` (``~/.local/share/icdsearch/store``)."""
    if os.environ.get("ICDSEARCH_STORE"):
        return os.environ["ICDSEARCH_STORE"]
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.path.join(data_home, "icdsearch", "store")


@dataclass(frozen=True)
class StoreConfig:
    """Where the store is: a directory (embedded Chroma) or a Chroma server."""

    path: str | None = None
    host: str | None = None
    port: int | None = None

    @classmethod
    def resolve(cls, path: str | None = None, host: str | None = None, port: int | str | None = None) -> StoreConfig:
        """Flag, then environment (ICDSEARCH_STORE, ICDSEARCH_CHROMA_HOST / _PORT), then default."""
        host = host or os.environ.get("ICDSEARCH_CHROMA_HOST") or None
        port = port or os.environ.get("ICDSEARCH_CHROMA_PORT") or None
        if port is not None:
            try:
                port = int(port)
            except ValueError:
                raise StoreError(f"Chroma port must be a number, got {port!r}") from None
            if not 0 < port < 65536:
                raise StoreError(f"Chroma port must be between 1 and 65535, got {port}")
        if host or port:
            return cls(host=host or "127.0.0.1", port=port or 8000)
        return cls(path=str(Path(path or default_store_path()).expanduser().resolve()))

    @property
    def is_server(self) -> bool:
        return self.host is not None

    def describe(self) -> str:
        return f"Chroma server {self.host}:{self.port}" if self.is_server else f"store {self.path}"


def collection_name(model: ModelSpec, code_set_version: str) -> str:
    """``<model>--<code-set version>`` in Chroma's alphabet (3-512 chars of [a-zA-Z0-9._-])."""
    name = re.sub(r"\.{2,}", ".", f"{model.slug}--{code_set_version}")
    return name[:512]


def synonym_collection_name(name: str) -> str:
    """The companion collection holding the synonym documents of collection ``name``."""
    return f"{name[:500]}--synonyms"


@dataclass(frozen=True)
class CollectionInfo:
    """What ``collections list`` and ``info`` show: a collection's name, count and recorded metadata."""

    name: str
    count: int
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> str:
        return str(self.metadata.get("model", "?"))

    @property
    def code_set_version(self) -> str:
        return str(self.metadata.get("code_set_version", "?"))

    @property
    def complete(self) -> bool:
        return bool(self.metadata.get("complete", False))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, "count": self.count,
                "code_set_version": self.code_set_version, "complete": self.complete, "metadata": self.metadata}


@contextlib.contextmanager
def _chroma_errors(where: str) -> Iterator[None]:
    """Turn Chroma's and the network's exceptions into one-line StoreErrors."""
    try:
        yield
    except (CollectionNotFound, StoreError, StoreNotFound):
        raise
    except Exception as exc:  # chromadb raises ValueError, ChromaError subclasses, httpx errors, ...
        text = " ".join(str(exc).split()) or type(exc).__name__
        if "hnsw" in text.lower():
            raise DamagedCollection(
                f"{where}: the vector index will not load ({text[:120]}...); rebuild the collection with "
                "`icdsearch ingest --rebuild` and the same -m and --codes"
            ) from None
        raise StoreError(f"{where}: {text[:300]}") from None


def ef_search_for(metadata: dict[str, Any]) -> int:
    """The ef_search icdsearch gives a collection with this metadata (a synonym companion needs less)."""
    return SYNONYM_EF_SEARCH if metadata.get("role") == "synonyms" else int(HNSW["ef_search"])


class CodeCollection:
    """One Chroma collection of code vectors: upsert in chunks, query, look codes up."""

    def __init__(self, store: Store, collection: Any) -> None:
        self._store = store
        self._collection = collection
        self.name: str = collection.name

    @property
    def id(self) -> str:
        """Chroma's id of the collection: a rebuilt collection of the same name has another."""
        return str(self._collection.id)

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self._collection.metadata or {})

    def count(self) -> int:
        with _chroma_errors(f"counting {self.name}"):
            return int(self._collection.count())

    @property
    def ef_search(self) -> int:
        return int(((self._collection.configuration or {}).get("hnsw") or {}).get("ef_search", 0))

    def apply_search_settings(self) -> bool:
        """Give a collection made by an older icdsearch today's ef_search (read by the next process that
        loads its index; nothing is re-embedded); whether it changed."""
        wanted = ef_search_for(self.metadata)
        if self.ef_search == wanted:
            return False
        with _chroma_errors(f"updating {self.name}"):
            self._collection.modify(configuration={"hnsw": {"ef_search": wanted}})
        return True

    def ids(self) -> set[str]:
        """Every id (code) in the collection."""
        with _chroma_errors(f"reading {self.name}"):
            return set(self._collection.get(include=[])["ids"])

    def update_metadata(self, **changes: Any) -> None:
        """Merge into the collection metadata (Chroma replaces it whole, so merge here)."""
        merged = {**self.metadata, **changes}
        merged.pop("hnsw:space", None)
        with _chroma_errors(f"updating {self.name}"):
            self._collection.modify(metadata=merged)

    def upsert(self, codes: Sequence[Code], vectors: np.ndarray, version: str) -> None:
        """Write codes and their vectors (id: the code, document: the description)."""
        self._upsert([c.code for c in codes], vectors, [c.description for c in codes],
                     [_record_metadata(c, version) for c in codes])

    def upsert_synonyms(self, records: Sequence[tuple[str, Synonym, Code]], vectors: np.ndarray, version: str) -> None:
        """Write synonym documents (id, synonym, its code): each points to its code in the metadata."""
        self._upsert([r[0] for r in records], vectors, [r[1].short for r in records],
                     [{**_record_metadata(code, version), "code": code.code, "matched": synonym.short,
                       "term_kind": synonym.kind} for _, synonym, code in records])

    def _upsert(self, ids: list[str], vectors: np.ndarray, documents: list[str], metadatas: list[dict[str, Any]]) -> None:
        step = self._store.max_batch_size  # chunks no larger than the client's max batch size
        with _chroma_errors(f"writing {self.name}"):
            for start in range(0, len(ids), step):
                self._collection.upsert(
                    ids=ids[start : start + step],
                    embeddings=vectors[start : start + step],
                    documents=documents[start : start + step],
                    metadatas=metadatas[start : start + step],
                )

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of the given ids, in one read; absent ids left out."""
        if not ids:
            return {}
        with _chroma_errors(f"reading {self.name}"):
            stored = self._collection.get(ids=list(ids), include=["embeddings"])
        matrix = np.asarray(stored["embeddings"], dtype=np.float32)
        return {doc_id: matrix[i] for i, doc_id in enumerate(stored["ids"])}

    def query(self, vectors: np.ndarray, k: int, where: dict[str, Any] | None = None) -> list[list[Hit]]:
        """The k nearest codes to each vector (Chroma's HNSW index), ranked by squared L2 distance."""
        with _chroma_errors(f"querying {self.name}"):
            result = self._collection.query(
                query_embeddings=np.asarray(vectors, dtype=np.float32),
                n_results=k,
                where=where or None,
                include=["metadatas", "distances"],
            )
        return _to_hits(result)

    def nearest(self, vectors: np.ndarray, k: int, where: dict[str, Any] | None = None) -> list[list[tuple[str, float]]]:
        """The k nearest document ids and distances per vector: no metadata, so deep candidate lists stay cheap."""
        with _chroma_errors(f"querying {self.name}"):
            result = self._collection.query(
                query_embeddings=np.asarray(vectors, dtype=np.float32),
                n_results=k,
                where=where or None,
                include=["distances"],
            )
        return [list(zip(ids, map(float, dists))) for ids, dists in zip(result["ids"], result["distances"])]

    def exact_nearest(self, vectors: np.ndarray, k: int, codes: Sequence[str],
                      by_code: bool = False) -> list[list[tuple[str, float]]]:
        """Brute-force k nearest document ids and distances among the documents of ``codes`` (exact).

        ``by_code``: documents are found by their ``code`` metadata (a synonym collection), not by id.
        """
        with _chroma_errors(f"reading {self.name}"):
            if by_code:
                stored = self._collection.get(where={"code": {"$in": list(codes)}}, include=["embeddings"])
            else:
                stored = self._collection.get(ids=list(codes), include=["embeddings"])
        if not stored["ids"]:
            return [[] for _ in range(len(vectors))]
        matrix = np.asarray(stored["embeddings"], dtype=np.float32)
        queries = np.asarray(vectors, dtype=np.float32)
        distances = (queries**2).sum(1)[:, None] + (matrix**2).sum(1)[None, :] - 2 * queries @ matrix.T
        order = np.argsort(distances, axis=1, kind="stable")[:, :k]
        return [[(stored["ids"][j], max(float(distances[i, j]), 0.0)) for j in row] for i, row in enumerate(order)]

    def exact_query(self, vectors: np.ndarray, k: int, codes: Sequence[str]) -> list[list[Hit]]:
        """Brute-force k nearest among ``codes`` only, over the stored vectors (no index, exact)."""
        with _chroma_errors(f"reading {self.name}"):
            stored = self._collection.get(ids=list(codes), include=["metadatas", "embeddings"])
        matrix = np.asarray(stored["embeddings"], dtype=np.float32)
        queries = np.asarray(vectors, dtype=np.float32)
        distances = (queries**2).sum(1)[:, None] + (matrix**2).sum(1)[None, :] - 2 * queries @ matrix.T
        order = np.argsort(distances, axis=1, kind="stable")[:, :k]
        return [
            [_hit(rank, stored["ids"][j], stored["metadatas"][j], max(float(distances[i, j]), 0.0))
             for rank, j in enumerate(row, 1)]
            for i, row in enumerate(order)
        ]

    def lookup(self, code: str, where: dict[str, Any] | None = None) -> tuple[Hit, np.ndarray] | None:
        """A code by id, with its stored vector; None if absent or filtered out."""
        with _chroma_errors(f"reading {self.name}"):
            result = self._collection.get(ids=[code], where=where or None, include=["metadatas", "embeddings"])
        if not result["ids"]:
            return None
        hit = _hit(1, result["ids"][0], result["metadatas"][0], 0.0)
        return hit, np.asarray(result["embeddings"][0], dtype=np.float32)


def _record_metadata(code: Code, version: str) -> dict[str, Any]:
    return {"description": code.description, "category": code.category, "chapter": code.chapter,
            "billable": code.billable, "parent": code.parent, "version": version}


def _hit(rank: int, doc_id: str, meta: dict[str, Any], distance: float) -> Hit:
    code = str(meta.get("code") or doc_id)  # a synonym document names its code in the metadata
    return Hit(rank=rank, code=code, description=str(meta.get("description", "")), distance=float(distance),
               category=str(meta.get("category", code[:3])), chapter=int(meta.get("chapter", 0)),
               billable=bool(meta.get("billable", False)), matched=str(meta.get("matched", "")))


def _to_hits(result: dict[str, Any]) -> list[list[Hit]]:
    """The one place Chroma's column-wise query result becomes ranked Hits."""
    return [
        [_hit(rank, code, meta, dist) for rank, (code, meta, dist) in enumerate(zip(ids, metas, dists), 1)]
        for ids, metas, dists in zip(result["ids"], result["metadatas"], result["distances"])
    ]


class Store:
    """An embedded Chroma directory or a Chroma server, behind one interface."""

    def __init__(self, config: StoreConfig | None = None) -> None:
        self.config = config or StoreConfig.resolve()
        self._client: Any = None
        self._lock_depth = 0

    def describe(self) -> str:
        return self.config.describe()

    def local_dir(self) -> Path:
        """Where icdsearch keeps its own files for this store (the lexical index): inside an embedded store's
        directory; for a server, a per-server folder under the icdsearch cache on this machine."""
        if not self.config.is_server:
            return Path(self.config.path or "")
        from .models import cache_dir

        return cache_dir() / "servers" / f"{self.config.host}-{self.config.port}"

    def exists(self) -> bool:
        """Whether there is a store to read (a server always counts; a directory needs Chroma's database)."""
        return self.config.is_server or (Path(self.config.path or "") / "chroma.sqlite3").is_file()

    def client(self, create: bool = False) -> Any:
        """The Chroma client. Reading never creates a directory: a missing store is an error."""
        if self._client is not None:
            return self._client
        if not self.config.is_server and not create and not self.exists():
            raise StoreNotFound(f"no icdsearch store at {self.config.path}: run `icdsearch ingest` first, or pass --store")
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        with _chroma_errors(f"cannot open {self.describe()}"):
            if self.config.is_server:
                self._client = chromadb.HttpClient(host=self.config.host, port=self.config.port, settings=settings)
            else:
                path = Path(self.config.path or "")
                try:
                    path.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(f"cannot create store directory {path}: {exc.strerror}") from None
                if not os.access(path, os.W_OK) and create:
                    raise StoreError(f"store directory {path} is not writable")
                self._client = chromadb.PersistentClient(path=str(path), settings=settings)
        return self._client

    @contextlib.contextmanager
    def write_lock(self, command: str = "ingest") -> Iterator[None]:
        """One writer per embedded store: an exclusive lock on ``<store>/icdsearch.lock``, naming its holder.

        The kernel drops the lock when its process dies, so a lock file left by a killed process is stale
        and simply taken over. A Chroma server handles concurrent writers itself: no lock there.
        """
        if self.config.is_server or self._lock_depth:
            self._lock_depth += 1  # re-entrant: ingest --rebuild deletes under its own lock
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        import fcntl
        import json
        import time

        path = Path(self.config.path or "")
        try:
            path.mkdir(parents=True, exist_ok=True)
            handle = open(path / LOCK_FILE, "a+", encoding="utf-8")
        except OSError as exc:
            raise StoreError(f"cannot write to store {path}: {exc.strerror}") from None
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                try:
                    holder = json.loads(handle.read() or "{}")
                except ValueError:
                    holder = {}
                raise StoreLocked(
                    f"store {path} is being written by another process (pid {holder.get('pid', '?')}, "
                    f"`icdsearch {holder.get('command', '?')}` since {holder.get('since', '?')}): wait for it to "
                    "finish, or share the store through a Chroma server (--host/--port)"
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps({"pid": os.getpid(), "command": command,
                                     "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}))
            handle.flush()
            self._lock_depth = 1
            yield
        finally:
            self._lock_depth = 0
            handle.close()  # releases the lock

    @functools.cached_property
    def max_batch_size(self) -> int:
        with _chroma_errors(f"{self.describe()}"):
            return int(self.client().get_max_batch_size())

    def list(self, companions: bool = False) -> list[CollectionInfo]:
        """Every collection in the store, icdsearch's or not, sorted by name; synonym companions only if asked."""
        client = self.client()
        with _chroma_errors(f"listing {self.describe()}"):
            infos = [CollectionInfo(c.name, int(c.count()), dict(c.metadata or {})) for c in client.list_collections()]
        return sorted((i for i in infos if companions or i.metadata.get("role") != "synonyms"), key=lambda i: i.name)

    def info(self, name: str) -> CollectionInfo:
        col = self.open(name)
        return CollectionInfo(col.name, col.count(), col.metadata)

    def open(self, name: str) -> CodeCollection:
        client = self.client()
        with _chroma_errors(f"opening {name} in {self.describe()}"):
            try:
                collection = client.get_collection(name, embedding_function=None)
            except Exception as exc:
                if _is_not_found(exc):
                    raise CollectionNotFound(f"no collection {name!r} in {self.describe()}") from None
                raise
        return CodeCollection(self, collection)

    def create(self, name: str, metadata: dict[str, Any]) -> CodeCollection:
        """A new, empty collection (L2 space, our own vectors)."""
        client = self.client(create=True)
        hnsw = {**HNSW, "ef_search": ef_search_for(metadata)}
        with _chroma_errors(f"creating {name} in {self.describe()}"):
            collection = client.create_collection(
                name, embedding_function=None, metadata=metadata, configuration={"hnsw": hnsw}
            )
        return CodeCollection(self, collection)

    def delete(self, name: str) -> None:
        """Drop a collection, and its synonym companion with it."""
        client = self.client()
        with self.write_lock("collections delete"), _chroma_errors(f"deleting {name} in {self.describe()}"):
            try:
                client.delete_collection(name)
            except Exception as exc:
                if _is_not_found(exc):
                    raise CollectionNotFound(f"no collection {name!r} in {self.describe()}") from None
                raise
            if not name.endswith("--synonyms"):
                try:
                    client.delete_collection(synonym_collection_name(name))
                except Exception as exc:
                    if not _is_not_found(exc):
                        raise

    def has(self, name: str) -> bool:
        try:
            self.open(name)
        except CollectionNotFound:
            return False
        return True


def _is_not_found(exc: Exception) -> bool:
    return type(exc).__name__ == "NotFoundError" or "does not exist" in str(exc)


def package_versions() -> dict[str, str]:
    """Versions of the packages that decide what a collection holds, for its metadata."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("icdsearch", "chromadb", "sentence-transformers", "torch", "simple-icd-10-cm"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "not installed"
    return out


@functools.lru_cache(maxsize=8)
def open_store(config: StoreConfig) -> Store:
    """One Store per configuration per process: the client and its caches are reused."""
    return Store(config)


def as_store(store: Store | StoreConfig | str | os.PathLike[str] | None) -> Store:
    """Accept what the Python API takes for ``store=``: a Store, a StoreConfig, a directory, or None (default)."""
    if isinstance(store, Store):
        return store
    if isinstance(store, StoreConfig):
        return open_store(store)
    return open_store(StoreConfig.resolve(path=os.fspath(store) if store is not None else None))


def check_compatible(info: CollectionInfo, model: ModelSpec, code_set_version: str, dimension: int | None = None) -> None:
    """Refuse a collection made by another tool, model, dimension or code-set version."""
    meta = info.metadata
    if meta.get("icdsearch_schema") != SCHEMA:
        raise ModelMismatch(
            f"collection {info.name} was not made by this version of icdsearch: delete it "
            f"(`icdsearch collections delete {info.name}`) or run `icdsearch ingest --rebuild`"
        )
    if meta.get("model") != model.name:
        raise ModelMismatch(
            f"collection {info.name} holds vectors of model {meta.get('model')!r}, not {model.name!r}: "
            f"run `icdsearch ingest --rebuild -m {model.name}`"
        )
    if meta.get("code_set_version") != code_set_version:
        raise ModelMismatch(
            f"collection {info.name} holds code set {meta.get('code_set_version')!r}, not {code_set_version!r}: "
            "run `icdsearch ingest --rebuild` with the same --codes"
        )
    made_with, installed = str(meta.get("version_chromadb", "")), _installed_chromadb()
    if made_with and installed and _version_tuple(made_with) != _version_tuple(installed):
        newer = _version_tuple(made_with) > _version_tuple(installed)
        if newer or _version_tuple(made_with)[:1] != _version_tuple(installed)[:1]:
            raise StoreError(
                f"collection {info.name} was made with chromadb {made_with}, the installed one is {installed}: "
                + ("install the newer chromadb, or " if newer else "")
                + f"rebuild it with `icdsearch ingest --rebuild -m {model.name}`"
            )
    if meta.get("backend") == "onnx-int8" and meta.get("int8_scheme") != INT8_SCHEME:
        raise ModelMismatch(
            f"collection {info.name} holds vectors of an earlier int8 quantization, which this icdsearch no longer "
            f"computes: run `icdsearch ingest --rebuild --backend onnx-int8 -m {model.name}` (with the same --codes)"
        )
    if dimension is not None and meta.get("dimension") != dimension:
        raise ModelMismatch(
            f"collection {info.name} holds {meta.get('dimension')}-d vectors but model {model.name} makes "
            f"{dimension}-d ones: run `icdsearch ingest --rebuild -m {model.name}`"
        )


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


@functools.lru_cache(maxsize=1)
def _installed_chromadb() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chromadb")
    except PackageNotFoundError:
        return ""


def list_collections(store: Store | StoreConfig | str | None = None) -> list[CollectionInfo]:
    """Every collection in the store (``icdsearch collections list``)."""
    return as_store(store).list()


def collection_info(name: str, store: Store | StoreConfig | str | None = None) -> CollectionInfo:
    """One collection's count and metadata (``icdsearch collections info NAME``)."""
    return as_store(store).info(name)


def delete_collection(name: str, store: Store | StoreConfig | str | None = None) -> None:
    """Drop a collection (``icdsearch collections delete NAME``)."""
    as_store(store).delete(name)
