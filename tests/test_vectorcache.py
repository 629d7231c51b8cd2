"""The embedding cache: vectors reused across stores and code sets, never wrong, never fatal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from icdsearch import ingest, search
from icdsearch.codeset import CodeSet, synonyms
from icdsearch.collections import Store, StoreConfig, collection_name
from icdsearch.models import resolve_model
from icdsearch.vectorcache import EmbeddingCache, cache_for, embed_with_cache

from .conftest import HASH


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache of this test's own: the session's is shared with tests that ingest the same texts."""
    monkeypatch.setenv("ICDSEARCH_CACHE", str(tmp_path / "cache"))


def vectors(store: Path, name: str) -> dict[str, np.ndarray]:
    raw = Store(StoreConfig(path=str(store))).client().get_collection(name).get(include=["embeddings"])
    return {i: np.asarray(v) for i, v in zip(raw["ids"], raw["embeddings"])}


def test_a_second_store_reuses_every_vector(small_codes: CodeSet, tmp_path: Path) -> None:
    first = ingest(HASH, small_codes, store=str(tmp_path / "a"))
    second = ingest(HASH, small_codes, store=str(tmp_path / "b"))
    n = len(small_codes) + len(synonyms(small_codes))
    assert first.cached == 0 and second.cached == n and second.embedded == len(small_codes)
    name = collection_name(resolve_model(HASH), small_codes.version)
    a, b = vectors(tmp_path / "a", name), vectors(tmp_path / "b", name)
    assert sorted(a) == sorted(b)
    for code in a:
        np.testing.assert_array_equal(a[code], b[code])
    assert search("asthma", model=HASH, codes=small_codes, store=str(tmp_path / "b"))[0].code == "J45.909"


def test_another_code_set_reuses_the_shared_texts(small_codes: CodeSet, tmp_path: Path) -> None:
    ingest(HASH, small_codes, store=str(tmp_path / "store"))
    billable = small_codes.subset(lambda c: c.billable, "billable")
    report = ingest(HASH, billable, store=str(tmp_path / "store"))
    assert report.cached == len(billable) + len(synonyms(billable))


def test_switched_off(small_codes: CodeSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest(HASH, small_codes, store=str(tmp_path / "a"))
    monkeypatch.setenv("ICDSEARCH_EMBEDDING_CACHE", "0")
    assert ingest(HASH, small_codes, store=str(tmp_path / "b")).cached == 0
    assert cache_for("m", "f", "onnx", 8) is None


def test_a_broken_cache_file_is_skipped_with_a_warning(small_codes: CodeSet, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ingest(HASH, small_codes, store=str(tmp_path / "first"))
    (path,) = (tmp_path / "cache" / "embeddings").glob("hash-bow-256-*.sqlite")
    path.write_bytes(b"this is not a database" * 100)
    with pytest.warns(UserWarning, match="embedding cache .* unreadable"):
        report = ingest(HASH, small_codes, store=str(tmp_path / "store"))
    assert report.embedded == len(small_codes) and report.cached == 0


def test_cache_round_trip_and_wrong_dimension(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "c.sqlite", 4)
    calls: list[list[str]] = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(texts)
        return np.arange(len(texts) * 4, dtype=np.float32).reshape(len(texts), 4)

    first, hits = embed_with_cache(embed, ["a", "b"], cache)
    assert hits == 0 and calls == [["a", "b"]]
    again, hits = embed_with_cache(embed, ["b", "c", "a"], cache)
    assert hits == 2 and calls[-1] == ["c"]
    np.testing.assert_array_equal(again[0], first[1])
    np.testing.assert_array_equal(again[2], first[0])
    assert EmbeddingCache(tmp_path / "c.sqlite", 8).get(["a"]) == {}  # another dimension is never served
