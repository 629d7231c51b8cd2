"""Load benchmark: N concurrent clients query a `chroma run` server on 127.0.0.1 for a fixed time.

    python scripts/bench_load.py [--store DIR] [--clients 1 4] [--seconds 30]

It serves a copy of an ingested store (default: the default store, with the default model's complete
collection of all FY2026 codes) with a real `chroma run` on a free loopback port, embeds the 1,000
benchmark rephrasings once, and has each client process send single-query top-10 requests through
icdsearch's own store layer until the time is up (bounded: at most 200,000 requests per client). It
reports throughput, p50 / p99 latency and errors, and writes them into BENCHMARKS.md between the load
markers. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from benchmarks_md import write_section

MAX_REQUESTS = 200_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def client(port: int, name: str, vectors: np.ndarray, seconds: float, offset: int, out: mp.Queue) -> None:
    from icdsearch.collections import Store, StoreConfig

    latencies: list[float] = []
    errors = 0
    collection = Store(StoreConfig(host="127.0.0.1", port=port)).open(name)
    deadline = time.perf_counter() + seconds
    i = offset
    while time.perf_counter() < deadline and len(latencies) + errors < MAX_REQUESTS:
        started = time.perf_counter()
        try:
            hits = collection.query(vectors[i % len(vectors)][None, :], 10)
            if len(hits[0]) != 10:
                errors += 1
            else:
                latencies.append(time.perf_counter() - started)
        except Exception:
            errors += 1
        i += 1
    out.put((latencies, errors))


def run_load(port: int, name: str, vectors: np.ndarray, clients: int, seconds: float) -> dict[str, float]:
    out: mp.Queue = mp.Queue()
    procs = [mp.Process(target=client, args=(port, name, vectors, seconds, 97 * n, out)) for n in range(clients)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    wall = time.perf_counter() - started
    latencies = np.array([x for lat, _ in results for x in lat])
    errors = sum(e for _, e in results)
    return {"clients": clients, "requests": len(latencies), "errors": errors, "wall_s": wall,
            "throughput": len(latencies) / seconds, "p50_ms": 1000 * float(np.percentile(latencies, 50)),
            "p99_ms": 1000 * float(np.percentile(latencies, 99))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=None, help="an ingested embedded store (default: the default store)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()

    from icdsearch.codeset import DEFAULT_VERSION
    from icdsearch.collections import StoreConfig, collection_name
    from icdsearch.evaluate import load_dataset
    from icdsearch.models import load_embedder, resolve_model

    source = Path(StoreConfig.resolve(path=args.store).path or "")
    spec = resolve_model(None)
    name = collection_name(spec, DEFAULT_VERSION)
    texts = [q.text for q in load_dataset().queries]
    vectors = load_embedder(spec).embed_queries(texts)

    with tempfile.TemporaryDirectory() as tmp:
        served = Path(tmp) / "store"
        shutil.copytree(source, served, ignore=shutil.ignore_patterns("icdsearch.lock"))
        port = free_port()
        chroma = Path(sys.executable).with_name("chroma")
        server = subprocess.Popen([str(chroma), "run", "--path", str(served), "--host", "127.0.0.1", "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1):
                        break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("chroma run did not start")
                    time.sleep(0.2)
            run_load(port, name, vectors, 1, 3.0)  # warm-up: the server loads the index on first use
            rows = [run_load(port, name, vectors, n, args.seconds) for n in args.clients]
        finally:
            server.terminate()
            server.wait(timeout=30)

    lines = [f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} cores, "
             f"{platform.machine()}) by `python scripts/bench_load.py`: `chroma run` on 127.0.0.1 serving a copy "
             f"of the store with `{name}` (98,186 codes); each client a separate process sending single "
             f"top-10 queries (vectors of the 1,000 benchmark rephrasings) for {args.seconds:.0f} s; server and "
             "clients share the machine's cores.", "",
             "| clients | requests | throughput (queries/s) | p50 (ms) | p99 (ms) | errors |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['clients']} | {r['requests']:,} | {r['throughput']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
              f"{r['errors']} |" for r in rows]
    print("\n".join(lines))
    if not args.no_write:
        write_section("load", "Load: concurrent clients on a Chroma server", lines)
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
