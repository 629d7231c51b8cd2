"""The same verbs against a real `chroma run` server on 127.0.0.1 (started and stopped by the fixture)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from icdsearch import StoreError, ingest, list_collections, search
from icdsearch.cli import main
from icdsearch.codeset import CodeSet
from icdsearch.collections import StoreConfig

from .conftest import HASH, free_port

pytestmark = [pytest.mark.slow, pytest.mark.server]


def test_server_gives_the_same_answers_as_embedded(chroma_server, small_codes: CodeSet, store_dir: Path) -> None:
    host, port = chroma_server
    server = StoreConfig(host=host, port=port)
    ingest(HASH, small_codes, store=server, rebuild=True)
    ingest(HASH, small_codes, store=str(store_dir))
    for text in ["type 2 diabetes", "E11.9", "right ankle sprain", "chronic kidney disease"]:
        remote = search(text, k=5, model=HASH, codes=small_codes, store=server)
        local = search(text, k=5, model=HASH, codes=small_codes, store=str(store_dir))
        assert [h.distance for h in remote] == pytest.approx([h.distance for h in local], abs=1e-5)
        # The hashing embedder makes exact ties (orthogonal vectors); ties may come in either order.
        distinct = [i for i, h in enumerate(local) if sum(abs(o.distance - h.distance) < 1e-5 for o in local) == 1]
        assert distinct and [remote[i].code for i in distinct] == [local[i].code for i in distinct]
    assert "hash-bow-256--test-small" in [i.name for i in list_collections(store=server)]


def test_cli_against_server(chroma_server, small_codes: CodeSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    host, port = chroma_server
    csv_path = tmp_path / "codes.csv"
    csv_path.write_text("".join(f'{c.code},"{c.description}"\n' for c in small_codes), encoding="utf-8")
    runner = CliRunner()
    server = ["--host", host, "--port", str(port)]
    first = runner.invoke(main, ["ingest", "-m", HASH, "--codes", str(csv_path), *server])
    assert first.exit_code == 0, first.output
    again = runner.invoke(main, ["ingest", "-m", HASH, "--codes", str(csv_path), *server])
    assert "already complete" in again.stdout
    result = runner.invoke(main, ["query", "E11.9", "-m", HASH, "--codes", str(csv_path), "--json", "-k", "1", *server])
    assert result.exit_code == 0 and json.loads(result.stdout)["code"] == "E11.9"
    # The environment variables reach the server too.
    monkeypatch.setenv("ICDSEARCH_CHROMA_HOST", host)
    monkeypatch.setenv("ICDSEARCH_CHROMA_PORT", str(port))
    listing = json.loads(runner.invoke(main, ["collections", "--json"]).stdout)
    name = next(i["name"] for i in listing if i["name"].startswith("hash-bow-256--codes-"))
    info = json.loads(runner.invoke(main, ["collections", "info", name, "--json"]).stdout)
    assert info["count"] == len(small_codes) and info["metadata"]["model"] == HASH
    assert runner.invoke(main, ["collections", "delete", name, "--yes"]).exit_code == 0
    assert name not in [i["name"] for i in json.loads(runner.invoke(main, ["collections", "--json"]).stdout)]


def test_evaluate_against_server(chroma_server, small_codes: CodeSet, store_dir: Path, tmp_path: Path) -> None:
    from icdsearch import evaluate

    host, port = chroma_server
    dataset = tmp_path / "mini.csv"
    dataset.write_text("code,query\nE11.9,type 2 diabetes without complications\nI10,primary hypertension\n"
                       "S93.401A,right ankle ligament sprain initial encounter\n", encoding="utf-8")
    remote = evaluate(HASH, dataset, codes=small_codes, store=StoreConfig(host=host, port=port))
    local = evaluate(HASH, dataset, codes=small_codes, store=str(store_dir))
    assert remote.results[0].scores == local.results[0].scores
    assert [p["true_code"] for p in remote.results[0].predictions] == ["E11.9", "I10", "S93.401A"]


def test_unreachable_server() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(StoreError, match=f"cannot open Chroma server 127.0.0.1:{port}: Could not connect"):
        search("asthma", store=StoreConfig(host="127.0.0.1", port=port))
    result = CliRunner().invoke(main, ["collections", "--host", "127.0.0.1", "--port", str(port)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith(f"Error: cannot open Chroma server 127.0.0.1:{port}")
