"""Ingest, query and collections through the library, on a real embedded Chroma with the hashing embedder."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from icdsearch import (
    BadQuery,
    CollectionNotFound,
    IncompleteCollection,
    ModelMismatch,
    StoreNotFound,
    collection_info,
    delete_collection,
    ingest,
    list_collections,
    search,
    search_many,
)
from icdsearch.codeset import CodeSet
from icdsearch.collections import HNSW, SCHEMA, SYNONYM_EF_SEARCH, Store, StoreConfig, collection_name, \
    synonym_collection_name
from icdsearch.models import resolve_model
from icdsearch.query import MAX_K

from .conftest import HASH


def test_ingest_creates_collection_with_metadata(small_codes: CodeSet, store_dir: Path) -> None:
    report = ingest(HASH, small_codes, store=str(store_dir))
    assert report.embedded == len(small_codes) == report.total
    assert report.collection == collection_name(resolve_model(HASH), "test-small") == "hash-bow-256--test-small"
    info = collection_info(report.collection, store=str(store_dir))
    assert info.count == len(small_codes) and info.complete
    meta = info.metadata
    assert meta["icdsearch_schema"] == SCHEMA
    assert (meta["model"], meta["dimension"], meta["normalized"]) == (HASH, 256, True)
    assert (meta["code_set_version"], meta["code_count"]) == ("test-small", 12)
    assert meta["version_chromadb"] and meta["created_at"]
    raw = Store(StoreConfig(path=str(store_dir))).client().get_collection(report.collection)
    assert raw.configuration["hnsw"]["space"] == "l2"
    assert raw.configuration["hnsw"]["ef_search"] == HNSW["ef_search"]
    companion = Store(StoreConfig(path=str(store_dir))).client().get_collection(synonym_collection_name(report.collection))
    assert companion.configuration["hnsw"]["ef_search"] == SYNONYM_EF_SEARCH != HNSW["ef_search"]


def test_ingest_gives_an_older_store_todays_ef_search(small_codes: CodeSet, store_dir: Path) -> None:
    report = ingest(HASH, small_codes, store=str(store_dir))
    client = Store(StoreConfig(path=str(store_dir))).client()
    names = (report.collection, synonym_collection_name(report.collection))
    for name in names:  # as an older icdsearch made them
        client.get_collection(name).modify(configuration={"hnsw": {"ef_search": 1024}})
    before = search("cholera", model=HASH, codes=small_codes, store=str(store_dir))
    again = ingest(HASH, small_codes, store=str(store_dir))
    assert again.embedded == 0
    client = Store(StoreConfig(path=str(store_dir))).client()
    assert [client.get_collection(n).configuration["hnsw"]["ef_search"] for n in names] == \
        [HNSW["ef_search"], SYNONYM_EF_SEARCH]
    assert search("cholera", model=HASH, codes=small_codes, store=str(store_dir)) == before


def test_ingest_is_idempotent(small_codes: CodeSet, store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest(HASH, small_codes, store=str(store_dir))
    ingest_module = importlib.import_module("icdsearch.ingest")  # the package attribute is the function

    def no_model(spec):
        raise AssertionError("a complete collection must not load the model")

    monkeypatch.setattr(ingest_module, "load_embedder", no_model)
    again = ingest(HASH, small_codes, store=str(store_dir))
    assert again.embedded == 0 and not again.resumed
    assert collection_info(again.collection, store=str(store_dir)).count == len(small_codes)


def test_interrupted_ingest_resumes(small_codes: CodeSet, store_dir: Path) -> None:
    class Stop(Exception):
        pass

    def stop_after_first_chunk(done: int, total: int) -> None:
        if done >= 5:
            raise Stop

    with pytest.raises(Stop):
        ingest(HASH, small_codes, store=str(store_dir), chunk_size=5, progress=stop_after_first_chunk)
    name = collection_name(resolve_model(HASH), small_codes.version)
    partial = collection_info(name, store=str(store_dir))
    assert partial.count == 5 and not partial.complete
    with pytest.raises(IncompleteCollection, match="incomplete .5 of 12 codes.*run `icdsearch ingest -m hash-bow-256"):
        search("diabetes", model=HASH, codes=small_codes, store=str(store_dir))

    report = ingest(HASH, small_codes, store=str(store_dir), chunk_size=5)
    assert report.resumed and report.embedded == 7
    assert collection_info(name, store=str(store_dir)).complete
    assert search("hypertension", model=HASH, codes=small_codes, store=str(store_dir))[0].code == "I10"


def test_rebuild_recreates(small_codes: CodeSet, store_dir: Path) -> None:
    first = ingest(HASH, small_codes, store=str(store_dir))
    created = collection_info(first.collection, store=str(store_dir)).metadata["created_at"]
    report = ingest(HASH, small_codes, store=str(store_dir), rebuild=True)
    assert report.rebuilt and report.embedded == len(small_codes)
    assert collection_info(first.collection, store=str(store_dir)).metadata["created_at"] >= created


def test_upserts_are_chunked_to_max_batch_size(small_codes: CodeSet, store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(StoreConfig(path=str(store_dir)))
    store.client(create=True)
    store.__dict__["max_batch_size"] = 5  # cached_property: a tiny limit, so 12 codes take 3 upserts
    calls: list[int] = []
    import chromadb.api.models.Collection as chroma_collection

    original = chroma_collection.Collection.upsert

    def counting(self, ids, **kwargs):
        calls.append(len(ids))
        return original(self, ids, **kwargs)

    monkeypatch.setattr(chroma_collection.Collection, "upsert", counting)
    ingest(HASH, small_codes, store=store)
    from icdsearch.codeset import synonyms

    # The codes, then their synonym documents into the companion collection, each in chunks of at most 5.
    assert calls[:3] == [5, 5, 2] and sum(calls[3:]) == len(synonyms(small_codes)) and max(calls[3:]) <= 5
    assert collection_info(collection_name(resolve_model(HASH), "test-small"), store=store).count == 12


@pytest.fixture
def hashed(small_codes: CodeSet, store_dir: Path) -> dict:
    ingest(HASH, small_codes, store=str(store_dir))
    return {"model": HASH, "codes": small_codes, "store": str(store_dir)}


def test_search_ranks_and_returns_hits(hashed: dict) -> None:
    hits = search("type 2 diabetes mellitus without complications", k=3, **hashed)
    assert [h.rank for h in hits] == [1, 2, 3]
    assert hits[0].code == "E11.9" and hits[0].description == "Type 2 diabetes mellitus without complications"
    assert hits[0].distance == pytest.approx(0.0, abs=1e-5)
    assert hits[0].distance <= hits[1].distance <= hits[2].distance
    assert (hits[0].category, hits[0].chapter, hits[0].billable) == ("E11", 4, True)


@pytest.mark.parametrize("text", ["E11.9", "e119", "E119", " e11.9 "])
def test_code_query_answers_the_code_first(hashed: dict, text: str) -> None:
    hits = search(text, k=4, **hashed)
    assert hits[0].code == "E11.9" and hits[0].distance == 0.0
    assert len(hits) == 4 and len({h.code for h in hits}) == 4 and [h.rank for h in hits] == [1, 2, 3, 4]


def test_unknown_code_is_searched_as_text(hashed: dict) -> None:
    assert search("Z99.89", k=2, **hashed)  # shaped like a code but not in the set: still answers


def test_filters(hashed: dict) -> None:
    billable = search("type 2 diabetes mellitus", k=12, billable_only=True, **hashed)
    assert billable and all(h.billable for h in billable) and "E11" not in {h.code for h in billable}
    in_e11 = search("diabetes", k=12, category="e11", **hashed)
    assert {h.code for h in in_e11} == {"E11", "E11.9", "E11.65"}
    both = search("diabetes", k=12, category="E11", billable_only=True, **hashed)
    assert {h.code for h in both} == {"E11.9", "E11.65"}
    # A code query whose code is filtered out is not forced in.
    assert search("E11", k=3, billable_only=True, **hashed)[0].code != "E11"


def test_search_many_keeps_order(hashed: dict) -> None:
    results = search_many(["asthma uncomplicated", "I10", "left ankle sprain initial encounter"], k=2, **hashed)
    assert [r[0].code for r in results] == ["J45.909", "I10", "S93.402A"]


def test_dense_batch_split_over_two_threads_keeps_order(hashed: dict) -> None:
    """A dense batch is searched in chunks, every other one on a second thread: answers stay in order."""
    from icdsearch.query import dense_search, open_collection

    texts = ["asthma uncomplicated", "essential hypertension", "left ankle sprain initial encounter",
             "type 1 diabetes", "chest pain", "atrial fibrillation", "chronic kidney disease stage 3"]
    spec, collection, info = open_collection(HASH, hashed["codes"], hashed["store"])
    singles = [dense_search(spec, collection, info, [t], 3)[0] for t in texts]
    for batch_size in (2, 3, 256):  # chunks of 2 (four of them), of 3, and of half the batch
        assert dense_search(spec, collection, info, texts, 3, batch_size=batch_size) == singles
    assert search_many(texts, k=3, mode="dense", **hashed) == singles


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"query": ""}, "the query is empty"),
        ({"query": "   \t"}, "the query is empty"),
        ({"query": "asthma", "k": 0}, f"k must be between 1 and {MAX_K}, got 0"),
        ({"query": "asthma", "k": MAX_K + 1}, "k must be between 1"),
        ({"query": "asthma", "category": "E11.9"}, "three-character category"),
    ],
)
def test_bad_queries(hashed: dict, kwargs: dict, message: str) -> None:
    query = kwargs.pop("query")
    with pytest.raises(BadQuery, match=message):
        search(query, **kwargs, **hashed)


def test_missing_store_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(StoreNotFound, match=f"no icdsearch store at {missing}: run `icdsearch ingest` first"):
        search("asthma", store=str(missing))
    with pytest.raises(StoreNotFound):
        list_collections(store=str(missing))
    assert not missing.exists()


def test_collection_not_ingested(hashed: dict) -> None:
    with pytest.raises(CollectionNotFound, match="model all-MiniLM-L6-v2 has no collection .* run `icdsearch ingest -m all-MiniLM-L6-v2"):
        search("asthma", store=hashed["store"])


def test_collection_of_another_model(small_codes: CodeSet, store_dir: Path) -> None:
    # A collection under this model's name whose metadata says another model made it.
    store = Store(StoreConfig(path=str(store_dir)))
    name = collection_name(resolve_model(HASH), small_codes.version)
    store.create(name, {"icdsearch_schema": SCHEMA, "model": "all-MiniLM-L6-v2", "dimension": 384,
                        "code_set_version": small_codes.version, "complete": True})
    with pytest.raises(ModelMismatch, match="holds vectors of model 'all-MiniLM-L6-v2', not 'hash-bow-256'"):
        search("asthma", model=HASH, codes=small_codes, store=store)
    with pytest.raises(ModelMismatch, match="--rebuild"):
        ingest(HASH, small_codes, store=store)
    assert ingest(HASH, small_codes, store=store, rebuild=True).embedded == 12


def test_collection_of_another_dimension(small_codes: CodeSet, store_dir: Path) -> None:
    store = Store(StoreConfig(path=str(store_dir)))
    name = collection_name(resolve_model(HASH), small_codes.version)
    store.create(name, {"icdsearch_schema": SCHEMA, "model": HASH, "dimension": 384,
                        "code_set_version": small_codes.version, "complete": True})
    with pytest.raises(ModelMismatch, match="holds 384-d vectors but model hash-bow-256 makes 256-d"):
        ingest(HASH, small_codes, store=store)


def test_foreign_collection(small_codes: CodeSet, store_dir: Path) -> None:
    store = Store(StoreConfig(path=str(store_dir)))
    store.create(collection_name(resolve_model(HASH), small_codes.version), {"made_by": "someone else"})
    with pytest.raises(ModelMismatch, match="was not made by this version of icdsearch"):
        search("asthma", model=HASH, codes=small_codes, store=store)


def test_list_and_delete(hashed: dict, small_codes: CodeSet) -> None:
    ingest(HASH, small_codes.subset(lambda c: c.billable, "billable"), store=hashed["store"])
    infos = list_collections(store=hashed["store"])
    assert [i.name for i in infos] == ["hash-bow-256--test-small", "hash-bow-256--test-small-billable"]
    assert [i.count for i in infos] == [12, 10]
    assert all(i.model == HASH and i.complete for i in infos)
    delete_collection("hash-bow-256--test-small-billable", store=hashed["store"])
    assert [i.name for i in list_collections(store=hashed["store"])] == ["hash-bow-256--test-small"]
    with pytest.raises(CollectionNotFound, match="no collection 'nope'"):
        delete_collection("nope", store=hashed["store"])


def test_store_config_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ICDSEARCH_STORE", str(tmp_path / "from-env"))
    assert StoreConfig.resolve().path == str(tmp_path / "from-env")
    assert StoreConfig.resolve(path=str(tmp_path / "flag")).path == str(tmp_path / "flag")
    monkeypatch.setenv("ICDSEARCH_CHROMA_HOST", "127.0.0.1")
    assert StoreConfig.resolve() == StoreConfig(host="127.0.0.1", port=8000)
    monkeypatch.setenv("ICDSEARCH_CHROMA_PORT", "9123")
    assert StoreConfig.resolve().port == 9123
    assert StoreConfig.resolve(port=9999).port == 9999
    monkeypatch.delenv("ICDSEARCH_CHROMA_HOST")
    monkeypatch.delenv("ICDSEARCH_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("ICDSEARCH_CHROMA_PORT")
    assert StoreConfig.resolve().path == str(tmp_path / "xdg" / "icdsearch" / "store")
