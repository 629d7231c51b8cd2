"""The model registry and the embedders' shared logic (hashing embedder: no weights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from icdsearch.collections import collection_name
from icdsearch.errors import ModelLoadError, UnknownModel
from icdsearch.models import (
    DEFAULT_MODEL,
    REGISTRY,
    Embedder,
    ModelSpec,
    availability,
    load_embedder,
    resolve_model,
)


def test_default_model_is_bundled() -> None:
    spec = resolve_model(None)
    assert spec.name == DEFAULT_MODEL and spec.bundled and spec.dimension == 384
    assert availability(spec) == "bundled (offline)"


@pytest.mark.parametrize("name", ["all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", "ALL-minilm-l6-v2"])
def test_aliases_resolve_to_one_entry(name: str) -> None:
    assert resolve_model(name) is REGISTRY[DEFAULT_MODEL]


def test_registry_has_both_kinds_and_prefixes() -> None:
    kinds = {spec.kind for spec in REGISTRY.values()}
    assert {"generalist", "clinical"} <= kinds
    assert resolve_model("intfloat/e5-small-v2").query_prefix == "query: "
    assert resolve_model("e5-small-v2").document_prefix == "passage: "
    nomic = resolve_model("nomic-embed-text-v1")
    assert (nomic.query_prefix, nomic.document_prefix) == ("search_query: ", "search_document: ")
    assert nomic.trust_remote_code


def test_unregistered_hub_id_is_accepted() -> None:
    spec = resolve_model("someorg/some-model")
    assert spec.hub_id == "someorg/some-model" and spec.kind == "user"
    assert "/" not in collection_name(spec, "v1")
    assert availability(spec) == "needs a download from the hub"


def test_hub_cache_counts_as_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    (tmp_path / "models--someorg--cached-model" / "snapshots" / "abc123").mkdir(parents=True)
    assert availability(resolve_model("someorg/cached-model")) == "in hub cache (offline)"


def test_unknown_model_message() -> None:
    with pytest.raises(UnknownModel, match="unknown model 'nosuchmodel': use a name from `icdsearch models`"):
        resolve_model("nosuchmodel")


def test_local_directory(tmp_path: Path) -> None:
    (tmp_path / "mymodel").mkdir()
    with pytest.raises(UnknownModel, match="not a sentence-transformers model"):
        resolve_model(str(tmp_path / "mymodel"))
    (tmp_path / "mymodel" / "config.json").write_text("{}")
    spec = resolve_model(str(tmp_path / "mymodel"))
    assert spec.local_path == str((tmp_path / "mymodel").resolve())
    name = collection_name(spec, "v1")
    assert name.startswith("local-mymodel-") and "/" not in name


def test_broken_local_model_is_a_load_error(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{}")
    with pytest.raises(ModelLoadError, match="cannot load model"):
        load_embedder(resolve_model(str(tmp_path / "broken")))


def test_unreachable_hub_model_is_a_load_error() -> None:
    # HF_HUB_OFFLINE=1 (conftest): a hub model that is not cached cannot load, with a clear message.
    with pytest.raises(ModelLoadError, match="cannot load model 'someorg/not-cached': it is not in the hub cache"):
        load_embedder(resolve_model("someorg/not-cached"))


def test_hash_embedder_is_deterministic_and_normalized() -> None:
    embedder = load_embedder(resolve_model("hash-bow-256"))
    texts = ["type 2 diabetes", "a much longer text about essential hypertension", "asthma"]
    first = embedder.embed_documents(texts)
    second = embedder.embed_documents(list(reversed(texts)))
    assert first.shape == (3, 256) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-6)
    # Length-sorted batching must hand results back in the caller's order.
    np.testing.assert_array_equal(first, second[::-1])


class Recording(Embedder):
    """Records what reaches embed_batch: prefixes, batch sizes."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec, 4)
        self.batches: list[list[str]] = []

    def embed_batch(self, texts):
        self.batches.append(list(texts))
        return np.array([[len(t), 1.0, 0.0, 0.0] for t in texts], dtype=np.float32)


def test_prefixes_and_batching() -> None:
    rec = Recording(ModelSpec("x", query_prefix="query: ", document_prefix="passage: "))
    done: list[int] = []
    vectors = rec.embed_documents(["ccc", "a", "bb", "dddd", "e"], batch_size=2, progress=done.append)
    assert [len(b) for b in rec.batches] == [2, 2, 1] and sum(done) == 5
    assert all(t.startswith("passage: ") for b in rec.batches for t in b)
    assert rec.batches[0] == ["passage: a", "passage: e"]  # shortest first
    # Row i is the vector of text i (first component = prefixed length, before normalisation).
    raw = np.array([len("passage: " + t) for t in ["ccc", "a", "bb", "dddd", "e"]], dtype=np.float32)
    expected = raw / np.sqrt(raw**2 + 1)
    np.testing.assert_allclose(vectors[:, 0], expected, rtol=1e-6)
    rec.batches.clear()
    rec.embed_queries(["hi"])
    assert rec.batches == [["query: hi"]]
