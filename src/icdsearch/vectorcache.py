"""Embedding cache: document vectors keyed by (model, backend, text), reused across stores and code sets.

A new store, a second code-set version (``--codes billable``, next year's CMS release) or a rebuilt
collection embeds only the texts no earlier ingest embedded with the same model weights and backend.
One SQLite file per (model source, backend) under ``$ICDSEARCH_CACHE/embeddings/``; the model source's
fingerprint changes with its weights, so stale vectors are never served. ``ICDSEARCH_EMBEDDING_CACHE=0``
switches it off. A cache that cannot be read or written is skipped, never fatal: it is only a shortcut.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

_CHUNK = 900  # SQLite's default limit on bound parameters is 999


def _key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()[:16]


class EmbeddingCache:
    """Vectors of one model source and backend, by text."""

    def __init__(self, path: Path, dimension: int) -> None:
        self.path = path
        self.dimension = dimension
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=60)
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID")
            self._db = db
        return self._db

    def get(self, texts: Sequence[str]) -> dict[int, np.ndarray]:
        """Cached vectors by position in ``texts``."""
        keys = [_key(t) for t in texts]
        found: dict[bytes, np.ndarray] = {}
        db = self._connect()
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            rows = db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(chunk))})", chunk)
            for key, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape == (self.dimension,):
                    found[key] = vector
        return {i: found[k] for i, k in enumerate(keys) if k in found}

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        db = self._connect()
        with db:
            db.executemany("INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)",
                           [(_key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in zip(texts, vectors)])

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def cache_for(name: str, fingerprint: str, backend: str, dimension: int) -> EmbeddingCache | None:
    """The cache of one model source and backend, or None when switched off."""
    if os.environ.get("ICDSEARCH_EMBEDDING_CACHE", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    from .models import cache_dir

    return EmbeddingCache(cache_dir() / "embeddings" / f"{name}-{fingerprint}-{backend}.sqlite", dimension)


def embed_with_cache(embed: Callable[[list[str]], np.ndarray], texts: Sequence[str],
                     cache: EmbeddingCache | None) -> tuple[np.ndarray, int]:
    """Vectors for ``texts`` (embedding only those the cache lacks) and how many came from the cache."""
    if cache is None:
        return embed(list(texts)), 0
    try:
        cached = cache.get(texts)
    except sqlite3.Error as exc:
        warnings.warn(f"embedding cache {cache.path} unreadable ({exc}); embedding without it", stacklevel=2)
        return embed(list(texts)), 0
    missing = [i for i in range(len(texts)) if i not in cached]
    out = np.empty((len(texts), cache.dimension), dtype=np.float32)
    for i, vector in cached.items():
        out[i] = vector
    if missing:
        fresh = embed([texts[i] for i in missing])
        out[missing] = fresh
        try:
            cache.put([texts[i] for i in missing], fresh)
        except sqlite3.Error as exc:
            warnings.warn(f"embedding cache {cache.path} not written ({exc})", stacklevel=2)
    return out, len(cached)
