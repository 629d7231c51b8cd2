"""Shared fixtures: an isolated store per test, a small code set, the real model on a subset, a real server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from icdsearch.codeset import Code, CodeSet, chapter_of

HASH = "hash-bow-256"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ONNX export cache per test session (the export takes seconds; every test may share it)."""
    return tmp_path_factory.mktemp("icdsearch-cache")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, model_cache: Path) -> None:
    """Nothing a test does touches the user's store or cache, a server from the environment, or the network."""
    monkeypatch.setenv("ICDSEARCH_STORE", str(tmp_path_factory.mktemp("default-store") / "store"))
    monkeypatch.setenv("ICDSEARCH_CACHE", str(model_cache))
    monkeypatch.delenv("ICDSEARCH_BACKEND", raising=False)
    monkeypatch.delenv("ICDSEARCH_CHROMA_HOST", raising=False)
    monkeypatch.delenv("ICDSEARCH_CHROMA_PORT", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def make_code(code: str, description: str, billable: bool = True, parent: str = "") -> Code:
    return Code(code, description, code[:3], chapter_of(code), billable, parent)


@pytest.fixture
def small_codes() -> CodeSet:
    """A dozen real FY2026 codes, enough for ranking and filters with the hashing embedder."""
    return CodeSet(
        "test-small",
        (
            make_code("E11", "Type 2 diabetes mellitus", billable=False),
            make_code("E11.9", "Type 2 diabetes mellitus without complications", parent="E11"),
            make_code("E11.65", "Type 2 diabetes mellitus with hyperglycemia", parent="E11.6"),
            make_code("E10.9", "Type 1 diabetes mellitus without complications", parent="E10"),
            make_code("I10", "Essential (primary) hypertension"),
            make_code("I48.91", "Unspecified atrial fibrillation", parent="I48.9"),
            make_code("J45.909", "Unspecified asthma, uncomplicated", parent="J45.90"),
            make_code("J44.9", "Chronic obstructive pulmonary disease, unspecified", parent="J44"),
            make_code("N18.3", "Chronic kidney disease, stage 3 (moderate)", billable=False, parent="N18"),
            make_code("S93.401A", "Sprain of unspecified ligament of right ankle, initial encounter", parent="S93.401"),
            make_code("S93.402A", "Sprain of unspecified ligament of left ankle, initial encounter", parent="S93.402"),
            make_code("R07.9", "Chest pain, unspecified", parent="R07"),
        ),
        "hand-picked test codes",
    )


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


# ----------------------------------------------------------------------------------------- real model


@pytest.fixture(scope="session")
def subset_codes() -> CodeSet:
    """Real FY2026 codes of chapters 4 (endocrine) and 9 (circulatory): about 3,000 codes."""
    from icdsearch.codeset import default_code_set

    return default_code_set().subset(lambda c: c.chapter in (4, 9), "ch04-ch09")


@pytest.fixture(scope="session")
def minilm_store(tmp_path_factory: pytest.TempPathFactory, subset_codes: CodeSet, model_cache: Path) -> Path:
    """A store with the bundled MiniLM's collection of the chapter 4 + 9 subset, ingested once per session
    (default backend: int8 ONNX, exported into the session's cache)."""
    from icdsearch import ingest

    path = tmp_path_factory.mktemp("minilm") / "store"
    with pytest.MonkeyPatch.context() as env:  # session scope: set up before the per-test environment
        env.setenv("ICDSEARCH_CACHE", str(model_cache))
        env.setenv("HF_HUB_OFFLINE", "1")
        env.delenv("ICDSEARCH_BACKEND", raising=False)
        ingest("all-MiniLM-L6-v2", subset_codes, store=str(path))
    return path


# ----------------------------------------------------------------------------------------- chroma server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chroma_executable() -> str:
    candidate = Path(sys.executable).with_name("chroma")
    return str(candidate) if candidate.exists() else (shutil.which("chroma") or "chroma")


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory):
    """A real `chroma run` on a free loopback port, stopped at the end of the session."""
    import urllib.request

    path = tmp_path_factory.mktemp("server") / "data"
    port = free_port()
    log = open(path.parent / "chroma.log", "wb")
    proc = subprocess.Popen(
        [chroma_executable(), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"chroma run did not start: see {path.parent / 'chroma.log'}")
        time.sleep(0.2)
    yield ("127.0.0.1", port)
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
