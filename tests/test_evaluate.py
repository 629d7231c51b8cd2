"""evaluate: datasets, auto-ingest, corpora, outputs and errors (hashing embedder), then the real model."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from icdsearch import BadDataset, BadQuery, collection_info, list_collections
from icdsearch.cli import main
from icdsearch.codeset import CodeSet, default_code_set
from icdsearch.evaluate import BENCHMARK_PATH, DATASETS, evaluate, format_misses, format_table, load_dataset, paper_references

from .conftest import HASH


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def small_dataset(tmp_path: Path) -> Path:
    """Five queries over the small code set; one unknown code; codes written dotted and undotted."""
    return write_csv(tmp_path / "mini.csv", ["code", "query"], [
        ["E119", "type 2 diabetes mellitus without complications"],
        ["I10", "essential primary hypertension"],
        ["S93.402A", "sprain ligament left ankle initial encounter"],
        ["J45.909", "asthma uncomplicated unspecified"],
        ["Z99.89", "dependence on other enabling machines"],  # not in the small code set
        ["R07.9", "unspecified chest pain"],
    ])


def test_evaluate_ingests_first_and_scores(small_codes: CodeSet, small_dataset: Path, store_dir: Path) -> None:
    calls: list[str] = []

    def progress(model: str):
        calls.append(model)
        return None

    report = evaluate(HASH, small_dataset, codes=small_codes, store=str(store_dir), k=3, progress=progress)
    assert calls == [HASH]  # the collection did not exist: it was ingested first
    assert collection_info("hash-bow-256--test-small", store=str(store_dir)).complete
    assert report.dataset.unknown == ((6, "Z99.89"),)
    (result,) = report.results
    assert result.n_queries == 5 and result.k == 3 and result.corpus == "full"
    assert [p["true_code"] for p in result.predictions] == ["E11.9", "I10", "S93.402A", "J45.909", "R07.9"]
    # Each query shares most words with its description: the bag-of-words embedder gets all five.
    assert result.scores["exact_match"] == 100.0 and result.scores["cer_total"] == 0.0
    assert result.ci95["exact_match"] == [100.0, 100.0]
    assert result.unknown_codes == [{"line": 6, "code": "Z99.89"}]
    assert all(len(p["predictions"]) == 3 for p in result.predictions)
    # A second run finds the collection complete: nothing is ingested.
    calls.clear()
    evaluate(HASH, small_dataset, codes=small_codes, store=str(store_dir), progress=progress)
    assert calls == []


def test_benchmark_corpus_restricts_the_search(small_codes: CodeSet, small_dataset: Path, store_dir: Path) -> None:
    report = evaluate(HASH, small_dataset, codes=small_codes, store=str(store_dir), corpus="benchmark", k=10)
    allowed = {"E11.9", "I10", "S93.402A", "J45.909", "R07.9"}
    for p in report.results[0].predictions:
        assert {x["code"] for x in p["predictions"]} <= allowed
        assert len(p["predictions"]) == 5  # k is capped at the number of codes searched


def test_outputs(small_codes: CodeSet, small_dataset: Path, store_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = evaluate(HASH, small_dataset, codes=small_codes, store=str(store_dir), out=out)
    files = sorted(p.name for p in out.iterdir())
    assert files == ["comparison.csv", "comparison.md", "comparison.png",
                     "hash-bow-256.mini.full.hybrid.json", "hash-bow-256.mini.full.hybrid.predictions.jsonl"]
    summary = json.loads((out / "hash-bow-256.mini.full.hybrid.json").read_text())
    assert summary["scores"]["exact_match"] == report.results[0].scores["exact_match"]
    assert set(summary["scores"]) >= {"exact_match", "category_match", "cer_total", "cer_incorrect", "hit_at_10",
                                      "mrr_at_10", "category_hit_at_10"}
    assert summary["dataset_sha256"] == report.dataset.sha256 and len(summary["dataset_sha256"]) == 64
    assert summary["code_set_version"] == "test-small" and summary["versions"]["chromadb"]
    assert summary["timings"]["total_s"] > 0 and "predictions" not in summary
    # Wrong answers by kind, per length of the true code, agree with the exact-match figure.
    misses = summary["misses"]
    assert sum(row["queries"] for row in misses.values()) == 5
    assert 100 * sum(row["right"] for row in misses.values()) / 5 == pytest.approx(summary["scores"]["exact_match"])
    table = format_misses(report.results[0]).splitlines()
    assert table[0].startswith("| true code | queries | right | descendant |") and len(table) == 2 + len(misses)
    lines = (out / "hash-bow-256.mini.full.hybrid.predictions.jsonl").read_text().splitlines()
    assert len(lines) == 5 and json.loads(lines[0])["true_code"] == "E11.9"
    with (out / "comparison.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert [r["model"] for r in table] == [HASH, "best generalist (reported in 2401.01943)",
                                           "best clinical, ClinicalBERT (reported in 2401.01943)"]
    assert table[1]["exact_match"] == "84.0" and table[2]["exact_match"] == "64.4" and table[1]["hit_at_10"] == ""
    assert "| best clinical, ClinicalBERT (reported in 2401.01943) |" in (out / "comparison.md").read_text()
    assert (out / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_table_marks_reference_rows(small_codes: CodeSet, small_dataset: Path, store_dir: Path) -> None:
    text = format_table(evaluate(HASH, small_dataset, codes=small_codes, store=str(store_dir)))
    lines = text.splitlines()
    assert lines[0].split()[:5] == ["model", "kind", "mode", "corpus", "queries"]
    assert lines[1].startswith("hash-bow-256") and "100.0 (100.0-100.0)" in lines[1]
    assert "reported in 2401.01943" in lines[2] and "84.0" in lines[2]


@pytest.mark.parametrize(
    ("header", "rows", "kwargs", "message"),
    [
        (["code", "text"], [["I10", "x"]], {}, "has no 'rephrasing' or 'query' column .*pass --text-column"),
        (["icd", "query"], [["I10", "x"]], {}, "has no column 'code' .*pass --code-column"),
        (["code", "query"], [["I10", "x"]], {"text_column": "nope"}, "has no column 'nope'"),
        (["code", "query"], [["I10", ""]], {}, r"mini.csv:2: empty 'query'"),
        (["code", "query"], [["Q99.99", "x"], ["nonsense", "y"]], {}, "no usable rows .all 2 codes are unknown"),
        (["code", "query"], [], {}, "no usable rows"),
    ],
)
def test_dataset_errors(tmp_path: Path, small_codes: CodeSet, header, rows, kwargs, message) -> None:
    path = write_csv(tmp_path / "mini.csv", header, rows)
    with pytest.raises(BadDataset, match=message):
        load_dataset(path, code_set=small_codes, **kwargs)


def test_dataset_file_errors(tmp_path: Path) -> None:
    with pytest.raises(BadDataset, match="dataset not found"):
        load_dataset(tmp_path / "none.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("code,query\nI10,caf\xe9\n".encode("latin-1"))
    with pytest.raises(BadDataset, match="is not UTF-8 text"):
        load_dataset(latin)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(BadDataset, match="is empty"):
        load_dataset(empty)


def test_custom_columns(tmp_path: Path, small_codes: CodeSet) -> None:
    path = write_csv(tmp_path / "custom.csv", ["icd", "note"], [["i10", "high blood pressure"]])
    data = load_dataset(path, code_column="icd", text_column="note", code_set=small_codes)
    assert [(q.code, q.text) for q in data.queries] == [("I10", "high blood pressure")]


def test_bad_arguments(small_codes: CodeSet, small_dataset: Path, store_dir: Path) -> None:
    with pytest.raises(BadDataset, match="--corpus must be one of full, benchmark"):
        evaluate(HASH, small_dataset, codes=small_codes, store=str(store_dir), corpus="everything")
    with pytest.raises(BadQuery, match="k must be between 1"):
        evaluate(HASH, small_dataset, codes=small_codes, store=str(store_dir), k=0)
    assert not store_dir.exists()  # refused before anything was written


def test_cli_evaluate(small_codes: CodeSet, tmp_path: Path, store_dir: Path) -> None:
    codes_csv = tmp_path / "codes.csv"
    codes_csv.write_text("".join(f'{c.code},"{c.description}"\n' for c in small_codes), encoding="utf-8")
    dataset = write_csv(tmp_path / "mini.csv", ["code", "query"], [
        ["E11.9", "type 2 diabetes mellitus without complications"], ["X99.1", "unknown code"],
        ["I10", "essential primary hypertension"]])
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["evaluate", "-m", HASH, "--dataset", str(dataset), "--codes", str(codes_csv),
                                       "--store", str(store_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "warning: 1 rows have codes not in the code set and were not scored (line 3: 'X99.1')" in result.stderr
    assert result.stdout.splitlines()[1].startswith(HASH) and "reported in 2401.01943" in result.stdout
    assert f"to {out}" in result.stdout and (out / "comparison.png").exists()
    bad = CliRunner().invoke(main, ["evaluate", "-m", HASH, "--dataset", str(tmp_path / "no.csv"), "--store", str(store_dir)])
    assert bad.exit_code == 1 and bad.output.strip() == f"Error: dataset not found: {tmp_path / 'no.csv'}"
    bad_corpus = CliRunner().invoke(main, ["evaluate", "--corpus", "everything"])
    assert bad_corpus.exit_code == 2 and "Invalid value for '--corpus'" in bad_corpus.output


@pytest.mark.slow
def test_real_model_on_benchmark_categories(tmp_path: Path) -> None:
    """MiniLM and the hashing model on the benchmark's neighbourhood (about 3,600 codes): real scores, a paired test.

    The neighbourhood is every code sharing its first four characters with a benchmark code, plus the
    categories' codes of up to four characters, so the near misses the full code set offers are there.
    """
    full = default_code_set()
    bench = {q.code for q in load_dataset(BENCHMARK_PATH).queries}
    prefixes = {code.replace(".", "")[:4] for code in bench}
    categories = {code[:3] for code in bench}
    codes = full.subset(lambda c: c.code.replace(".", "")[:4] in prefixes or (c.category in categories and len(c.code) <= 5),
                        "benchmark-neighbourhood")
    store = str(tmp_path / "store")
    report = evaluate(["all-MiniLM-L6-v2", HASH], codes=codes, store=store, mode="dense")  # the paper's setup
    minilm, hashed = report.results
    assert minilm.n_queries == hashed.n_queries == 1000 and not report.dataset.unknown
    # The real model is far better than word hashing, and the paired test says so.
    assert minilm.scores["exact_match"] > hashed.scores["exact_match"] + 10
    assert minilm.scores["hit_at_10"] >= minilm.scores["hit_at_1"] and minilm.scores["exact_match"] > 50
    (test,) = report.paired
    assert (test.model_a, test.model_b) == ("all-MiniLM-L6-v2", HASH)
    assert test.exact_match_diff > 10 and test.diff_ci95[0] > 0 and test.mcnemar_p < 0.001
    assert "paired: all-MiniLM-L6-v2 vs hash-bow-256" in format_table(report)
    assert {i.model for i in list_collections(store=store)} == {"all-MiniLM-L6-v2", HASH}


def test_dataset_by_name_and_split() -> None:
    full = load_dataset("shorthand")
    tune, heldout = load_dataset("shorthand", split="tune"), load_dataset("shorthand", split="heldout")
    assert len(tune.queries) + len(heldout.queries) == len(full.queries) >= 150
    assert tune.name == "shorthand_queries.tune" and not {q.text for q in tune.queries} & {q.text for q in heldout.queries}
    with pytest.raises(BadDataset, match="no 'split' column"):
        load_dataset("benchmark", split="tune")
    with pytest.raises(BadDataset, match="--split must be"):
        load_dataset("shorthand", split="train")


def test_modes_are_recorded_and_differ(small_codes: CodeSet, small_dataset: Path, store_dir: Path) -> None:
    dense = evaluate(HASH, small_dataset, codes=small_codes, store=str(store_dir), mode="dense").results[0]
    hybrid = evaluate(HASH, small_dataset, codes=small_codes, store=str(store_dir)).results[0]
    assert (dense.mode, hybrid.mode) == ("dense", "hybrid")
    # The shorthand set measures something else: no "reported in 2401.01943" rows beside it.
    assert "2401.01943" not in format_table(evaluate(HASH, "shorthand", codes=small_codes, store=str(store_dir)))
    # nor beside the development set, which is for trying changes; the benchmark and a user's CSV keep them
    assert paper_references(DATASETS["paraphrase-dev"]) == () == paper_references(DATASETS["shorthand"])
    assert paper_references(DATASETS["benchmark"]) and paper_references(small_dataset)
    assert dense.config["pipeline"]["lexical"] is False and hybrid.config["pipeline"]["lexical"] is True
    billable = evaluate(HASH, small_dataset, codes=small_codes, store=str(store_dir), billable_only=True).results[0]
    assert all(x["code"] in {c.code for c in small_codes if c.billable}
               for p in billable.predictions for x in p["predictions"])


@pytest.mark.slow
def test_ablation_cli_shows_each_part(tmp_path: Path, subset_codes: CodeSet) -> None:
    """`evaluate --ablation` on the chapter 4 + 9 codes (as a code-set file) with the hashing model."""
    codes = tmp_path / "codes.csv"
    with codes.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["code", "description"])
        writer.writerows((c.code, c.description) for c in subset_codes)
    result = CliRunner().invoke(main, ["evaluate", "--ablation", "-m", HASH, "--codes", str(codes),
                                       "--store", str(tmp_path / "store")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line and not line.startswith("#")]
    assert "benchmark" in lines[0] and "shorthand tune" in lines[0] and "shorthand heldout" in lines[0]
    rows = {line.split("  ")[0].strip(): [float(x) for x in line.split()[-9:]] for line in lines[1:]}
    assert list(rows) == ["dense (paper)", "+ synonyms", "+ lexical fusion", "+ abbreviations", "+ steering",
                          "all (hybrid)"]
    # Word hashing knows no abbreviation: expanding them must lift the shorthand set's exact match.
    assert rows["+ abbreviations"][6] > rows["dense (paper)"][6]
    assert rows["all (hybrid)"][6] > rows["dense (paper)"][6] and rows["all (hybrid)"][8] >= rows["all (hybrid)"][6]
