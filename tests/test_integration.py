"""The real bundled MiniLM on real FY2026 codes, in a real embedded Chroma."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from icdsearch import collection_info, ingest, search, search_many
from icdsearch.cli import main
from icdsearch.codeset import CodeSet

from .conftest import HASH

pytestmark = pytest.mark.slow


def test_type2_diabetes(minilm_store: Path, subset_codes: CodeSet) -> None:
    hits = search("type 2 diabetes mellitus without complications", k=3, codes=subset_codes, store=str(minilm_store))
    assert "E11.9" in [h.code for h in hits]
    assert hits[0].code == "E11.9"


@pytest.mark.parametrize(("text", "expected"), [
    ("type 1 diabetes", "E10.9"),  # "mellitus" asks nothing: not E10.8 "with unspecified complications"
    ("diabetes type 2", "E11.9"),
    ("type 2 diabetes mellitus", "E11.9"),
])
def test_diabetes_needs_no_mellitus(minilm_store: Path, subset_codes: CodeSet, text: str, expected: str) -> None:
    hits = search(text, k=10, codes=subset_codes, store=str(minilm_store), billable_only=True)
    assert hits[0].code == expected


@pytest.mark.parametrize(("text", "expected"), [
    # No type named: type 2, as ICD-10-CM codes an undocumented type of diabetes.
    ("diabetic foot ulcer", "E11.621"),
    ("diabetic neuropathy", "E11.40"),
    ("diabetic retinopathy", "E11.319"),
    ("diabetes", "E11.9"),
    # A type or kind named: that one.
    ("T1DM with neuropathy", "E10.40"),
    ("drug induced diabetes with foot ulcer", "E09.621"),
    # E09.9 asks part of what E09.8 "... with unspecified complications" asks, which ranked first
    ("steroid induced diabetes", "E09.9"),
])
def test_diabetes_of_no_named_type_is_type_2(minilm_store: Path, subset_codes: CodeSet, text: str,
                                             expected: str) -> None:
    hits = search(text, k=10, codes=subset_codes, store=str(minilm_store), billable_only=True)
    assert hits[0].code == expected


@pytest.mark.parametrize("text", ["low blood pressure", "low BP"])
def test_lay_words_for_hypotension(minilm_store: Path, subset_codes: CodeSet, text: str) -> None:
    # without the abbreviation list it is R03.1 "Nonspecific low blood-pressure reading", not a diagnosis
    assert search(text, k=5, codes=subset_codes, store=str(minilm_store), billable_only=True)[0].code == "I95.9"


def test_first_answers_do_not_depend_on_k(minilm_store: Path, subset_codes: CodeSet) -> None:
    texts = ["type 1 diabetes", "afib", "HTN with CKD stage 4", "obesity", "hypothyroidism"]
    tens = search_many(texts, k=10, codes=subset_codes, store=str(minilm_store))
    for k in (1, 3):
        some = search_many(texts, k=k, codes=subset_codes, store=str(minilm_store))
        assert [[h.code for h in r] for r in some] == [[h.code for h in r[:k]] for r in tens]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("essential hypertension", "I10"),
        ("acute myocardial infarction", None),  # any I21/I22 (acute MI) code in the top 5
        ("atrial fibrillation, unspecified", "I48.91"),
        ("hypothyroidism, unspecified", "E03.9"),
    ],
)
def test_real_answers(minilm_store: Path, subset_codes: CodeSet, text: str, expected: str | None) -> None:
    hits = search(text, k=5, codes=subset_codes, store=str(minilm_store))
    if expected:
        assert expected in [h.code for h in hits[:3]]
    else:
        assert any(h.category in {"I21", "I22"} for h in hits)


def test_code_query_with_real_model(minilm_store: Path, subset_codes: CodeSet) -> None:
    hits = search("e119", k=5, codes=subset_codes, store=str(minilm_store))
    assert hits[0].code == "E11.9" and hits[0].distance == 0.0
    assert sum(h.category == "E11" for h in hits) >= 3  # its neighbours are other type 2 diabetes codes


def test_batch_equals_single(minilm_store: Path, subset_codes: CodeSet) -> None:
    texts = ["high cholesterol", "congestive heart failure", "obesity"]
    batch = search_many(texts, k=5, codes=subset_codes, store=str(minilm_store))
    singles = [search(t, k=5, codes=subset_codes, store=str(minilm_store)) for t in texts]
    assert [[h.code for h in r] for r in batch] == [[h.code for h in r] for r in singles]
    for b, s in zip(batch, singles):
        assert [h.distance for h in b] == pytest.approx([h.distance for h in s], abs=1e-4)


def test_collection_records_the_model(minilm_store: Path, subset_codes: CodeSet) -> None:
    info = collection_info("all-MiniLM-L6-v2--icd10cm-fy2026-april-ch04-ch09", store=str(minilm_store))
    assert info.count == len(subset_codes) and info.complete
    assert info.metadata["dimension"] == 384 and info.metadata["model_hub_id"] == "sentence-transformers/all-MiniLM-L6-v2"


def test_cli_with_csv_code_set_and_real_model(tmp_path: Path, subset_codes: CodeSet) -> None:
    csv_path = tmp_path / "endocrine.csv"
    rows = [c for c in subset_codes if c.category in {"E10", "E11", "E03", "E66"}]
    csv_path.write_text("code,description\n" + "".join(f'{c.code},"{c.description}"\n' for c in rows), encoding="utf-8")
    store = ["--store", str(tmp_path / "store")]
    runner = CliRunner()
    first = runner.invoke(main, ["ingest", "--codes", str(csv_path), *store])
    assert first.exit_code == 0 and f"embedded {len(rows)} of {len(rows)} codes" in first.stdout
    result = runner.invoke(main, ["query", "type 2 diabetes mellitus without complications", "--codes", str(csv_path),
                                  "--json", "-k", "3", *store])
    assert result.exit_code == 0
    assert json.loads(result.stdout.splitlines()[0])["code"] == "E11.9"


def test_order_file_ingest_with_real_model(tmp_path: Path) -> None:
    lines = [
        "00001 E11     0 Type 2 diabetes mellitus                                     Type 2 diabetes mellitus",
        "00002 E119    1 Type 2 diabetes mellitus without complications               Type 2 diabetes mellitus without complications",
        "00003 I10     1 Essential (primary) hypertension                             Essential (primary) hypertension",
        "00004 J45909  1 Unspecified asthma, uncomplicated                            Unspecified asthma, uncomplicated",
    ]
    order = tmp_path / "icd10cm_order_2027.txt"
    order.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest(codes=str(order), store=str(tmp_path / "store"))
    assert report.total == 4 and report.collection.startswith("all-MiniLM-L6-v2--icd10cm_order_2027-")
    assert search("asthma", k=1, codes=str(order), store=str(tmp_path / "store"))[0].code == "J45.909"


def test_full_code_set_ingest(tmp_path: Path) -> None:
    """All 98,186 codes (hashing embedder, so the test measures the store, not the model)."""
    report = ingest(HASH, "all", store=str(tmp_path / "store"))
    assert report.total == report.embedded == 98_186
    info = collection_info(report.collection, store=str(tmp_path / "store"))
    assert info.count == 98_186 and info.complete
    assert search("S93.401A", model=HASH, store=str(tmp_path / "store"), k=1)[0].description == (
        "Sprain of unspecified ligament of right ankle, initial encounter")


def test_console_script_runs_in_a_fresh_process(minilm_store: Path) -> None:
    """The installed `icdsearch` entry point, as a user runs it: answer on stdout, errors on stderr."""
    exe = Path(sys.executable).with_name("icdsearch")
    ok = subprocess.run([str(exe), "collections", "--store", str(minilm_store)], capture_output=True, text=True)
    assert ok.returncode == 0 and "all-MiniLM-L6-v2--icd10cm-fy2026-april-ch04-ch09" in ok.stdout
    bad = subprocess.run([str(exe), "query", "", "--store", str(minilm_store)], capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.strip().startswith("Error: the query is empty") and "Traceback" not in bad.stderr


def test_default_backend_is_int8_onnx_and_its_fp32_export_matches_torch(minilm_store: Path,
                                                                         subset_codes: CodeSet) -> None:
    from icdsearch.evaluate import load_dataset
    from icdsearch.models import INT8_FILE, INT8_SCHEME, export_dir, load_embedder, resolve_model
    from icdsearch.query import open_collection

    info = collection_info("all-MiniLM-L6-v2--icd10cm-fy2026-april-ch04-ch09", store=str(minilm_store))
    assert info.metadata["backend"] == "onnx-int8" and info.metadata["int8_scheme"] == INT8_SCHEME
    spec = resolve_model(None)
    # A query is embedded by the collection's backend: a stored description typed as a query gets its stored vector.
    _, collection, _ = open_collection(None, subset_codes, str(minilm_store))
    picked = [c for c in subset_codes][:: max(1, len(subset_codes) // 40)]
    stored = collection.vectors([c.code for c in picked])
    typed = load_embedder(spec, "onnx-int8").embed_queries([c.description for c in picked])
    assert min(float(stored[c.code] @ v) for c, v in zip(picked, typed)) >= 0.999
    assert {"model.onnx", "model.onnx.data", INT8_FILE, "tokenizer.json", "export.json"} <= {
        p.name for p in export_dir(spec).iterdir()}
    texts = [q.text for q in load_dataset().queries][:300]
    embedder = load_embedder(spec, "onnx")
    onnx = embedder.embed_queries(texts)
    # Its threads sleep between runs, leaving the cores to the Chroma search that follows a query's embedding.
    assert embedder._session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == "0"
    torch_vectors = load_embedder(spec, "torch").embed_queries(texts)
    cosine = (onnx * torch_vectors).sum(axis=1)
    assert cosine.min() >= 0.999


def test_export_of_an_older_layout_is_upgraded_with_the_same_vectors(minilm_store: Path, tmp_path: Path) -> None:
    """An export made before the weights moved to model.onnx.data (layout 1: weights inside the graph)
    is rewritten in place on load, without torch, and computes exactly the same vectors."""
    import shutil

    import numpy as np
    import onnx

    from icdsearch.models import (EXPORT_LAYOUT, WEIGHTS_FILE, OnnxEmbedder, export_dir, load_embedder, resolve_model,
                                  upgrade_layout)

    spec = resolve_model(None)
    load_embedder(spec, "onnx")  # the real export, made if this run has none yet
    old = tmp_path / "export"
    shutil.copytree(export_dir(spec), old)
    onnx.save_model(onnx.load(str(old / "model.onnx")), str(old / "inline.onnx"))  # weights back inside
    (old / WEIGHTS_FILE).unlink()
    (old / "inline.onnx").replace(old / "model.onnx")
    config = json.loads((old / "export.json").read_text())
    config.pop("layout")
    (old / "export.json").write_text(json.dumps(config))

    texts = ["high blood pressure", "T2DM w/o complications", "sprained right ankle, first visit"]
    before = OnnxEmbedder(spec, old).embed_queries(texts)
    upgrade_layout(old)
    assert json.loads((old / "export.json").read_text())["layout"] == EXPORT_LAYOUT
    assert (old / WEIGHTS_FILE).stat().st_size > (old / "model.onnx").stat().st_size * 100
    assert np.array_equal(OnnxEmbedder(spec, old).embed_queries(texts), before)
    assert sorted(p.name for p in old.iterdir()) == sorted(p.name for p in export_dir(spec).iterdir())


def test_query_path_imports_no_torch(minilm_store: Path) -> None:
    # The store holds the chapter 4 + 9 subset: name its version with an empty CodeSet, so the query
    # process never loads the ICD-10-CM data either (as with --codes all, whose label is a constant).
    script = (
        "import sys, json\n"
        "from icdsearch.codeset import CodeSet\n"
        "from icdsearch.query import search_many\n"
        "codes = CodeSet('icd10cm-fy2026-april-ch04-ch09', ())\n"
        f"hits = search_many(['T2DM w/o complications', 'high blood pressure'], 3, codes=codes, store={str(minilm_store)!r})\n"
        "print(json.dumps({'codes': [h[0].code for h in hits], 'torch': 'torch' in sys.modules,\n"
        "                  'st': 'sentence_transformers' in sys.modules, 'icd': 'simple_icd_10_cm' in sys.modules,\n"
        "                  'scipy': 'scipy' in sys.modules, 'bm25s': 'bm25s' in sys.modules}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    # Hybrid search (the default) with the real model: shorthand expanded, a lay term found by its synonym.
    assert json.loads(result.stdout) == {"codes": ["E11.9", "I10"], "torch": False, "st": False, "icd": False,
                                         "scipy": False, "bm25s": False}


def test_backend_is_kept_per_collection(tmp_path: Path, subset_codes: CodeSet) -> None:
    from icdsearch import ModelMismatch

    small = subset_codes.subset(lambda c: c.category in {"E10", "E11"}, "e10-e11")
    store = str(tmp_path / "store")
    assert ingest(codes=small, store=store, backend="torch").embedded == len(small)
    name = "all-MiniLM-L6-v2--icd10cm-fy2026-april-ch04-ch09-e10-e11"
    assert collection_info(name, store=store).metadata["backend"] == "torch"
    with pytest.raises(ModelMismatch, match="made with backend torch, not onnx-int8: add --rebuild"):
        ingest(codes=small, store=store, backend="onnx-int8")
    assert ingest(codes=small, store=store).embedded == 0  # no backend asked: the collection's own is kept
    assert search("type 2 diabetes mellitus without complications", k=1, codes=small, store=store)[0].code == "E11.9"
    assert ingest(codes=small, store=store, backend="onnx-int8", rebuild=True).embedded == len(small)
    assert collection_info(name, store=store).metadata["backend"] == "onnx-int8"
    assert search("type 2 diabetes mellitus without complications", k=1, codes=small, store=store)[0].code == "E11.9"


def test_int8_is_per_token_and_an_earlier_int8_collection_is_refused(tmp_path: Path, subset_codes: CodeSet) -> None:
    """int8 vectors of another quantization scheme never meet today's int8 query vectors: the collection
    records its scheme, a query or resume of one without it fails with a rebuild hint, and a rebuild works.
    Today's scheme keeps the vectors close to fp32, and a text's vector does not depend on its batch."""
    import numpy as np

    from icdsearch import ModelMismatch
    from icdsearch.models import INT8_SCHEME, cache_dir, load_embedder, resolve_model
    from icdsearch.query import open_collection

    small = subset_codes.subset(lambda c: c.category in {"E10", "E11"}, "e10-e11")
    store = str(tmp_path / "store")
    ingest(codes=small, store=store, backend="onnx-int8")
    name = "all-MiniLM-L6-v2--icd10cm-fy2026-april-ch04-ch09-e10-e11"
    assert collection_info(name, store=store).metadata["int8_scheme"] == INT8_SCHEME
    assert any(p.name.endswith("-onnx-int8pt.sqlite") for p in (cache_dir() / "embeddings").iterdir())
    spec = resolve_model(None)
    texts = ["type 2 diabetes mellitus without complications", "T1DM with ketoacidosis"]
    int8 = load_embedder(spec, "onnx-int8")
    cosine = (int8.embed_queries(texts) * load_embedder(spec, "onnx").embed_queries(texts))
    assert 0.995 < cosine.sum(axis=1).min() < 0.9999  # close to fp32 (one scale per batch: 0.97-0.99), but other vectors
    # One scale per token: a query embedded alone gets the vector its text gets among documents (one scale
    # per batch made these differ by up to 0.02 of cosine, the long text coarsening the short one).
    batch = [texts[0], "Other specified diabetes mellitus with diabetic neuropathy, unspecified, with long-term "
             "(current) use of insulin and of oral hypoglycemic drugs in a patient with an unusually long history"]
    assert np.allclose(int8.embed_batch(batch)[0], int8.embed_batch(texts[:1])[0], atol=1e-5)

    _, collection, _ = open_collection(None, small, store)
    collection.update_metadata(int8_scheme="dynamic int8, per-tensor")  # as an earlier icdsearch wrote it
    for attempt in (lambda: search(texts[0], codes=small, store=store), lambda: ingest(codes=small, store=store)):
        with pytest.raises(ModelMismatch, match="earlier int8 quantization.*ingest --rebuild --backend onnx-int8"):
            attempt()
    assert ingest(codes=small, store=store, backend="onnx-int8", rebuild=True).embedded == len(small)
    assert search(texts[0], k=1, codes=small, store=store)[0].code == "E11.9"


def test_export_without_the_per_token_model_gets_it_without_torch(minilm_store: Path, tmp_path: Path) -> None:
    """An export made with an earlier int8 scheme is given today's int8 model on first use, in a process
    that never imports torch, and it computes the same vectors as a fresh export's."""
    import shutil

    import numpy as np

    from icdsearch.models import INT8_FILE, OnnxEmbedder, export_dir, load_embedder, resolve_model

    spec = resolve_model(None)
    load_embedder(spec, "onnx-int8")  # the real export and its int8 model
    old = tmp_path / "export"
    shutil.copytree(export_dir(spec), old)
    (old / INT8_FILE).rename(old / "model.int8-per-channel.onnx")  # where the previous scheme's model was
    script = ("import sys\nfrom pathlib import Path\nfrom icdsearch.models import ensure_int8\n"
              f"ensure_int8(Path({str(old)!r}))\nprint('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "False", result.stderr
    assert (old / INT8_FILE).exists() and not (old / "model.int8-per-channel.onnx").exists()
    # The earlier scheme's cosine to torch is replaced by today's int8 model's to the fp32 export.
    config = json.loads((old / "export.json").read_text())
    assert "min_cosine_vs_torch_onnx-int8" not in config and 0.99 < config["min_cosine_int8_vs_onnx"] < 1.0
    texts = ["high blood pressure", "sprained right ankle, first visit"]
    assert np.allclose(OnnxEmbedder(spec, old, quantized=True).embed_queries(texts),
                       load_embedder(spec, "onnx-int8").embed_queries(texts), atol=1e-6)


def test_default_is_fp32_for_a_model_whose_int8_export_disagrees(minilm_store: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """int8 is vouched for by the benchmark on the bundled model only: an export whose int8 model strays from
    torch (min cosine below INT8_MIN_COSINE) gets fp32 ONNX unless int8 is asked for."""
    import shutil

    from icdsearch.models import INT8_MIN_COSINE, cache_dir, embedder_for_ingest, export_dir, load_embedder, resolve_model

    spec = resolve_model(None)
    assert embedder_for_ingest(spec).backend == "onnx-int8"
    shutil.copytree(cache_dir() / "onnx", tmp_path / "cache" / "onnx")
    monkeypatch.setenv("ICDSEARCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ICDSEARCH_BACKEND", raising=False)
    config_file = export_dir(spec) / "export.json"
    config = json.loads(config_file.read_text())
    config["min_cosine_vs_torch_onnx-int8"] = INT8_MIN_COSINE - 0.01
    config_file.write_text(json.dumps(config))
    load_embedder.cache_clear()
    try:
        assert embedder_for_ingest(spec).backend == "onnx"
        assert embedder_for_ingest(spec, "onnx-int8").backend == "onnx-int8"  # asked for: kept
        monkeypatch.setenv("ICDSEARCH_BACKEND", "onnx-int8")
        assert embedder_for_ingest(spec).backend == "onnx-int8"
    finally:
        load_embedder.cache_clear()


@pytest.mark.parametrize(("text", "expected"), [
    ("enlarged heart", "I51.7"),  # Cardiomegaly
    ("brain bleed", "I61.9"),  # the index's "Hemorrhage, brain": nontraumatic intracerebral
    ("low testosterone", "E29.1"),  # Testicular hypofunction
])
def test_lay_words_the_data_does_not_say(minilm_store: Path, subset_codes: CodeSet, text: str, expected: str) -> None:
    assert search(text, k=5, codes=subset_codes, store=str(minilm_store), billable_only=True)[0].code == expected
