"""The benchmark scripts' own code: `make bench` runs 20-55 minutes before it writes BENCHMARKS.md, so its report
is tested here on canned figures (a run at a31b24f died in it on an undefined name), and pyflakes checks every
module for names that do not exist."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import bench  # noqa: E402
import benchmarks_md  # noqa: E402


def in_process(p50: float, qps: float) -> dict:
    return {"p50_ms": p50 + 2, "p99_ms": 3 * p50, "searcher_p50_ms": p50, "searcher_p99_ms": 2 * p50,
            "batch_qps": qps, "evaluate_s": 1000 / qps + 4, "exact_match": 66.0}


def figures(ingest_s: float = 300.0, query_s: float = 0.8) -> dict:
    """What ``bench.measure()`` returns, with figures chosen so that some targets are met and some missed."""
    return {
        "measured_at": "2026-12-03 14:00", "node": "ci-host", "cores": 2, "machine": "x86_64", "python": "3.12.3",
        "vnni": False, "ef_search": 60, "synonym_ef_search": 40,
        "reference": {"ingest_s": 930.0, "process_s": 960.0, "peak_mib": 1800.0,
                      "query": {"wall": 5.5, "peak": 760.0}, "exact_match_exact": 66.1},
        "ingest": {"wall_s": ingest_s, "peak_mib": 1250.0, "again_s": 7.7}, "query": {"wall": query_s, "peak": 483.0},
        "chroma_import": {"wall": 1.4, "peak": 120.0}, "chroma_open": {"wall": 1.98, "peak": 315.0},
        "in_process": {"hybrid": in_process(11.4, 231.0), "dense": in_process(8.5, 432.0),
                       "parts": {"embed_query_ms": 4.0, "chroma_query_ms": 4.5, "synonym_query_ms": 1.5,
                                 "chroma_batch_ms": 3.0, "embed_batch_ms": 1.2, "backend": "onnx-int8",
                                 "documents_per_s": 120.0, "fp32_documents_per_s": 133.0, "fp32_model_gflops": 57.0,
                                 "gemm_gflops": 65.0, "insert_per_s": 1179.0}},
        "hnsw": {"codes": {"agreement": 100.0, "exact_match_exact": 65.9},
                 "synonyms": {"agreement": 99.2, "exact_match_exact": 65.9}},
        "growth": [{"codes": n, "synonyms": s, "seconds": t, "hybrid": [9.0, 20.0], "dense": [7.0, 15.0],
                    "store_mib": n / 200, "lexical_mib": n / 5000, "note": note}
                   for n, s, t, note in ((10_000, 1_300, 90.0, ""), (50_000, 6_800, 450.0, ""),
                                         (98_186, 13_484, ingest_s, " (the full ingest above)"))],
        "total_min": 19.5,
    }


def row(lines: list[str], starts: str) -> str:
    found = [line for line in lines if line.startswith(f"| {starts}")]
    assert len(found) == 1, (starts, found)
    return found[0]


def test_report_states_each_target_met_or_missed_from_the_figures() -> None:
    speed, growth = bench.report(figures())
    assert row(speed, "Full ingest").endswith("| 3.20x faster | ≥ 3x: met |")
    assert "≤ 1.0: met" in row(speed, "Query from a fresh process (default hybrid), wall")
    assert "≤ 350: **missed**" in row(speed, "Query from a fresh process (default hybrid), peak")
    assert "-0.2 points | within 0.5 points: met" in row(speed, "Benchmark exact match")
    assert "99.2 | - | ≥ 99.5: **missed**" in row(speed, "Top-1 agreement, HNSW vs exact search, synonym")
    assert "≥ 300: **missed**" in row(speed, "Batch of 1,000 queries (queries/s), default hybrid")
    assert "≥ 300: met" in row(speed, "Batch of 1,000 queries (queries/s), --mode dense")
    assert "19.5 | - | ≤ 20: met" in row(speed, "`make bench` itself")
    assert speed[0].startswith("Measured 2026-12-03 14:00 UTC on ci-host (2 cores, x86_64, Python 3.12.3)")
    assert any("this CPU has no VNNI" in line for line in speed)
    # The growth table: the two samples and the full ingest, whose rate counts codes and synonym documents.
    table = [line for line in growth if line.startswith("| ") and line[2].isdigit()]
    assert [line.split(" | ")[0] for line in table] == ["| 10,000", "| 50,000", "| 98,186 (the full ingest above)"]
    assert table[2].split(" | ")[3] == f"{(98_186 + 13_484) / 300:.0f}"


def test_report_turns_a_target_to_missed_when_its_figure_crosses_it() -> None:
    speed, _ = bench.report(figures(ingest_s=330.0, query_s=1.2))
    assert row(speed, "Full ingest").endswith("| 2.91x faster | ≥ 3x: **missed** |")
    assert "≤ 1.0: **missed**" in row(speed, "Query from a fresh process (default hybrid), wall")


def test_where_the_time_goes_follows_the_figures() -> None:
    near = figures()  # fp32 at 57 of 65 GFLOP/s; opening the collections 1.98 s
    speed, _ = bench.report(near)
    assert any("fp32 is near the machine's limit" in line for line in speed)
    assert any("so that alone is over the 1.0 s / 350 MiB budget" in line for line in speed)
    far = figures()
    far["in_process"]["parts"]["fp32_model_gflops"] = 41.0  # 63 % of the multiply's rate
    far["chroma_open"] = {"wall": 0.6, "peak": 315.0}
    speed, _ = bench.report(far)
    assert not any("near the machine's limit" in line for line in speed)
    assert any("do not reach the large multiply's rate" in line for line in speed)
    assert any("leaves 0.40 s and 35 MiB of the 1.0 s / 350 MiB budget" in line for line in speed)


def test_saved_figures_are_written_again_into_benchmarks_md(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "BENCHMARKS.md"
    target.write_text("# Benchmarks\n\n<!-- speed:start -->\nold figures\n<!-- speed:end -->\n\nkept\n",
                      encoding="utf-8")
    monkeypatch.setattr(benchmarks_md, "PATH", target)
    saved = tmp_path / "bench-figures.json"
    saved.write_text(json.dumps(figures()), encoding="utf-8")
    assert bench.main(["--report", str(saved)]) == 0
    text = target.read_text(encoding="utf-8")
    assert "old figures" not in text and "kept" in text
    assert "| 3.20x faster | ≥ 3x: met |" in text
    assert "<!-- growth:start -->" in text and "98,186 (the full ingest above)" in text
    with pytest.raises(SystemExit, match="usage: bench.py"):
        bench.main(["--reprot", str(saved)])


def test_pyflakes_finds_nothing_in_src_scripts_and_tests() -> None:
    result = subprocess.run([sys.executable, "-m", "pyflakes", "src", "scripts", "tests"], cwd=ROOT,
                            capture_output=True, text=True)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
