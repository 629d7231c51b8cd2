"""One writer, crash safety, Ctrl-C, damaged stores and version checks: real processes on a real store."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from icdsearch import StoreError, StoreLocked, collection_info, ingest, search
from icdsearch.codeset import CodeSet, default_code_set
from icdsearch.collections import LOCK_FILE, SCHEMA, Store, StoreConfig, collection_name
from icdsearch.models import resolve_model

from .conftest import HASH

pytestmark = pytest.mark.slow
ICDSEARCH = str(Path(sys.executable).with_name("icdsearch"))


@pytest.fixture(autouse=True)
def _no_embedding_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Crash tests need ingests that take their full time: vectors from the cache would finish them early."""
    monkeypatch.setenv("ICDSEARCH_EMBEDDING_CACHE", "0")


@pytest.fixture(scope="module")
def chapter_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Chapters 4 and 9 as a code,description CSV (3,065 codes): an ingest of a few seconds."""
    path = tmp_path_factory.mktemp("codes") / "codes.csv"
    rows = [c for c in default_code_set() if c.chapter in (4, 9)]
    path.write_text("code,description\n" + "".join(f'{c.code},"{c.description}"\n' for c in rows), encoding="utf-8")
    return path


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ICDSEARCH, *args], capture_output=True, text=True, timeout=timeout)


def _default_sigint() -> None:
    # A suite started in the background (`make test &`, some CI runners) has SIGINT ignored, and a child
    # inherits that: Python would then never raise KeyboardInterrupt. Give the CLI a terminal's default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([ICDSEARCH, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)


def stored(store: Path, name: str) -> dict[str, np.ndarray]:
    """Every id of a collection with its stored vector."""
    raw = Store(StoreConfig(path=str(store))).client().get_collection(name).get(include=["embeddings"])
    assert len(raw["ids"]) == len(set(raw["ids"])), "duplicate ids"
    return {i: np.asarray(v) for i, v in zip(raw["ids"], raw["embeddings"])}


def test_sigkill_at_random_points_then_resume(chapter_csv: Path, tmp_path: Path) -> None:
    reference, crashed = tmp_path / "reference", tmp_path / "crashed"
    args = ["ingest", "-m", HASH, "--codes", str(chapter_csv), "--chunk-size", "100"]
    assert run_cli(*args, "--store", str(reference)).returncode == 0
    name = json.loads(run_cli("collections", "--json", "--store", str(reference)).stdout)[0]["name"]

    rng = random.Random(7)
    interrupted = 0
    for _ in range(6):
        proc = start_cli(*args, "--store", str(crashed))
        time.sleep(rng.uniform(1.2, 4.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        listing = run_cli("collections", "--json", "--store", str(crashed))
        if listing.returncode != 0 or not json.loads(listing.stdout) or not json.loads(listing.stdout)[0]["complete"]:
            interrupted += 1
    assert interrupted >= 2, "the kills all came too late to interrupt anything"

    final = run_cli(*args, "--store", str(crashed))
    assert final.returncode == 0, final.stderr
    want, got = stored(reference, name), stored(crashed, name)
    assert sorted(got) == sorted(want) and len(got) == 3065
    for code, vector in want.items():
        np.testing.assert_allclose(got[code], vector, atol=1e-6)
    for text in ["E11.9", "essential hypertension", "acute myocardial infarction, unspecified"]:
        a = run_cli("query", text, "-m", HASH, "--codes", str(chapter_csv), "--json", "--store", str(reference))
        b = run_cli("query", text, "-m", HASH, "--codes", str(chapter_csv), "--json", "--store", str(crashed))
        rows_a = [json.loads(x) for x in a.stdout.splitlines()]
        rows_b = [json.loads(x) for x in b.stdout.splitlines()]
        assert [r["distance"] for r in rows_a] == pytest.approx([r["distance"] for r in rows_b], abs=1e-5)
        assert rows_a[0]["code"] == rows_b[0]["code"] or rows_a[0]["distance"] == pytest.approx(rows_a[1]["distance"])


def test_ctrl_c_keeps_work_and_the_next_ingest_resumes(tmp_path: Path) -> None:
    store = tmp_path / "store"
    musculoskeletal = tmp_path / "chapter13.csv"  # 8,674 codes in chunks of 100: far from done after 1 s
    musculoskeletal.write_text("".join(f'{c.code},"{c.description}"\n' for c in default_code_set() if c.chapter == 13),
                               encoding="utf-8")
    args = ["ingest", "-m", HASH, "--codes", str(musculoskeletal), "--chunk-size", "100", "--store", str(store)]
    proc = start_cli(*args)
    deadline = time.monotonic() + 60
    while not (store / "chroma.sqlite3").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1, "the ingest finished before Ctrl-C arrived"
    assert "interrupted: what was written is kept; run the same ingest again to resume" in stderr
    assert "Traceback" not in stderr
    again = run_cli(*args)
    assert again.returncode == 0 and "resumed, embedded" in again.stdout


def test_second_writer_is_refused_fast_and_readers_keep_working(chapter_csv: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert run_cli("ingest", "-m", HASH, "--codes", str(chapter_csv), "--store", str(store)).returncode == 0
    bigger = tmp_path / "bigger.csv"
    rows = [c for c in default_code_set() if c.chapter == 13]
    bigger.write_text("".join(f'{c.code},"{c.description}"\n' for c in rows), encoding="utf-8")
    writer = start_cli("ingest", "-m", HASH, "--codes", str(bigger), "--chunk-size", "200", "--store", str(store))
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            holder = (store / LOCK_FILE).read_text() if (store / LOCK_FILE).exists() else ""
            if f'"pid": {writer.pid}' in holder:
                break
            time.sleep(0.05)
        started = time.monotonic()
        second = run_cli("ingest", "-m", HASH, "--codes", str(chapter_csv), "--rebuild", "--store", str(store))
        elapsed = time.monotonic() - started
        assert second.returncode == 1 and elapsed < 2.0 + 1.5  # 2 s, plus the process start on a slow machine
        assert f"is being written by another process (pid {writer.pid}, `icdsearch ingest`" in second.stderr
        reader = run_cli("query", "E11.9", "-m", HASH, "--codes", str(chapter_csv), "--json", "-k", "1",
                         "--store", str(store))
        assert reader.returncode == 0 and json.loads(reader.stdout)["code"] == "E11.9"
        assert writer.poll() is None, "the writer finished too soon for this test to mean anything"
    finally:
        writer.wait(timeout=120)
    assert writer.returncode == 0


def test_stale_lock_is_taken_over(small_codes: CodeSet, store_dir: Path) -> None:
    store_dir.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (store_dir / LOCK_FILE).write_text(json.dumps({"pid": int(dead.stdout), "command": "ingest", "since": "x"}))
    report = ingest(HASH, small_codes, store=str(store_dir))
    assert report.embedded == len(small_codes)
    assert json.loads((store_dir / LOCK_FILE).read_text())["pid"] == os.getpid()


def test_lock_in_one_process_refuses_another_in_process(small_codes: CodeSet, store_dir: Path) -> None:
    holder = Store(StoreConfig(path=str(store_dir)))
    with holder.write_lock("ingest"):
        with pytest.raises(StoreLocked, match=f"pid {os.getpid()}"):
            ingest(HASH, small_codes, store=Store(StoreConfig(path=str(store_dir))))


def test_damaged_index_says_rebuild(chapter_csv: Path, tmp_path: Path) -> None:
    """Index files damaged on disk: a one-line message naming the fix, and the fix works. Fresh processes,
    so no client holds the index in memory."""
    store = tmp_path / "store"
    args = ["-m", HASH, "--codes", str(chapter_csv), "--store", str(store)]
    assert run_cli("ingest", *args).returncode == 0
    damaged = 0
    for segment in [p for p in store.iterdir() if p.is_dir()]:
        for name in ("header.bin", "data_level0.bin"):
            if (segment / name).exists():
                (segment / name).write_bytes(os.urandom(4096))
                damaged += 1
    assert damaged, "no index files on disk to damage"
    broken = run_cli("query", "essential hypertension", *args)
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    assert broken.stderr.count("\n") == 1
    assert "the vector index will not load" in broken.stderr and "`icdsearch ingest --rebuild`" in broken.stderr
    repaired = run_cli("ingest", *args)  # a plain ingest starts a damaged collection afresh
    assert repaired.returncode == 0 and "was damaged" in repaired.stderr and "rebuilt from scratch" in repaired.stderr
    assert "embedded 3,065 of 3,065 codes" in repaired.stdout
    assert run_cli("ingest", "--rebuild", *args).returncode == 0
    fixed = run_cli("query", "E11.9", "--json", "-k", "1", *args)
    assert fixed.returncode == 0 and json.loads(fixed.stdout)["code"] == "E11.9"


def test_collection_from_another_chromadb(small_codes: CodeSet, store_dir: Path) -> None:
    store = Store(StoreConfig(path=str(store_dir)))
    name = collection_name(resolve_model(HASH), small_codes.version)
    store.create(name, {"icdsearch_schema": SCHEMA, "model": HASH, "dimension": 256, "complete": True,
                        "code_set_version": small_codes.version, "version_chromadb": "99.0.0"})
    with pytest.raises(StoreError, match=r"made with chromadb 99\.0\.0, the installed one is .*install the newer"):
        search("asthma", model=HASH, codes=small_codes, store=store)
    info = collection_info(name, store=store)
    assert info.metadata["version_chromadb"] == "99.0.0"  # refused, not touched
