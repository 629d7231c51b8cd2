"""int8 vs fp32: does the quantized ONNX backend (the default) keep the benchmark's exact match within 0.5 points?

    python scripts/bench_int8.py [--fp32-store DIR] [--store DIR]

Ingests all codes with `--backend onnx` (fp32) into DIR (default: a store under the icdsearch cache; an
existing complete one is reused, its vectors are still fp32's), evaluates both backends on the rebuilt
benchmark in dense mode (the paper's setup, where only the vectors differ) and in hybrid mode, and writes
the comparison into BENCHMARKS.md. The int8 side is the default store that `make demo` builds.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from datetime import datetime, timezone

from bench_machine import cpu_vnni
from benchmarks_md import write_section
from icdsearch import ModelMismatch, ingest
from icdsearch.codeset import default_code_set
from icdsearch.evaluate import evaluate, load_dataset
from icdsearch.models import INT8_SCHEME, cache_dir, load_embedder, resolve_model


def _throughput(n: int = 2000) -> dict[str, float]:
    """Descriptions per second of each ONNX backend on one random sample, and how close their vectors are."""
    codes = [c.description for c in default_code_set()]
    sample = random.Random(7).sample(codes, n)
    spec = resolve_model(None)
    out: dict[str, float] = {"n": n}
    vectors = {}
    for backend in ("onnx", "onnx-int8"):
        embedder = load_embedder(spec, backend)
        embedder.embed_documents(sample[:64], batch_size=32)  # warm
        started = time.perf_counter()
        vectors[backend] = embedder.embed_documents(sample, batch_size=32)
        out[backend] = n / (time.perf_counter() - started)
    cosine = (vectors["onnx"] * vectors["onnx-int8"]).sum(axis=1)
    out["mean"], out["min"] = float(cosine.mean()), float(cosine.min())
    return out


def _query_latency(n: int = 300) -> dict[str, tuple[float, float, float]]:
    """Per backend: one query embedded at a time (p50, p99 ms) and a batch of them (ms a query)."""
    queries = [q.text for q in load_dataset("benchmark").queries][:n]
    spec = resolve_model(None)
    out = {}
    for backend in ("onnx", "onnx-int8"):
        embedder = load_embedder(spec, backend)
        embedder.embed_queries(queries[:20])  # warm
        times = []
        for query in queries:
            started = time.perf_counter()
            embedder.embed_queries([query])
            times.append(1000 * (time.perf_counter() - started))
        started = time.perf_counter()
        embedder.embed_queries(queries)
        batched = 1000 * (time.perf_counter() - started) / n
        times.sort()
        out[backend] = (times[n // 2], times[int(n * 0.99)], batched)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fp32-store", default=None)
    parser.add_argument("--store", default=None)
    args = parser.parse_args()
    fp32_store = args.fp32_store or str(cache_dir() / "bench-fp32-store")
    default = evaluate(store=args.store, mode="dense").results[0]
    if default.config["backend"] != "onnx-int8":
        raise SystemExit(f"the default store's collection was made with backend {default.config['backend']}, not "
                         "onnx-int8: run `icdsearch ingest --rebuild` (or `make demo` on a fresh store) first")
    speed = _throughput()
    latency = _query_latency()
    started = time.perf_counter()
    try:
        report = ingest(store=fp32_store, backend="onnx")
    except ModelMismatch:  # a store made with another backend
        report = ingest(store=fp32_store, backend="onnx", rebuild=True)
    ingest_s = time.perf_counter() - started
    lines = [f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} cores, "
             f"{'with' if cpu_vnni() else 'no'} VNNI) "
             f"by `python scripts/bench_int8.py` (fp32 ingest this run: {report.embedded:,} codes embedded in "
             f"{ingest_s:.0f} s; 0 means the fp32 store was already complete). int8: {INT8_SCHEME}.", "",
             f"- Embedding speed, {speed['n']:,} descriptions drawn at random (seed 7), batches of 32: fp32 "
             f"{speed['onnx']:.0f} / s, int8 {speed['onnx-int8']:.0f} / s ({speed['onnx-int8'] / speed['onnx']:.2f}x). "
             f"Cosine of int8 to fp32 vectors: mean {speed['mean']:.4f}, min {speed['min']:.4f}.",
             "- Query embedding, 300 benchmark rephrasings: one at a time p50 / p99 fp32 "
             f"{latency['onnx'][0]:.2f} / {latency['onnx'][1]:.2f} ms, int8 {latency['onnx-int8'][0]:.2f} / "
             f"{latency['onnx-int8'][1]:.2f} ms; in one batch fp32 {latency['onnx'][2]:.2f} ms a query, int8 "
             f"{latency['onnx-int8'][2]:.2f}.", "",
             "| mode | fp32 ONNX exact % | int8 ONNX exact % | difference (points) | within 0.5 points |", "|---|---|---|---|---|"]
    kept = []
    for mode in ("dense", "hybrid"):
        fp32 = evaluate(store=fp32_store, mode=mode).results[0]
        int8 = default if mode == "dense" else evaluate(store=args.store, mode=mode).results[0]
        assert fp32.config["backend"] == "onnx" and int8.config["backend"] == "onnx-int8"
        diff = int8.scores["exact_match"] - fp32.scores["exact_match"]
        kept.append(abs(diff) <= 0.5)
        lines.append(f"| {mode} | {fp32.scores['exact_match']:.1f} | {int8.scores['exact_match']:.1f} | {diff:+.1f} | "
                     f"{'yes' if kept[-1] else '**no**'} |")
    verdict = ("int8 keeps the benchmark's exact match within 0.5 points of fp32 in both modes in this run."
               if all(kept) else "int8 costs more than 0.5 points of exact match in this run.")
    lines += ["", f"{verdict} fp32 ONNX's own vectors match torch's (cosine >= 0.999, checked at export)."]
    print("\n".join(lines))
    write_section("int8", "Quantized (int8) backend vs fp32", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
