"""The shipped benchmark file obeys the rules its datasheet states."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from icdsearch.codeset import default_code_set
from icdsearch.evaluate import BENCHMARK_PATH, load_dataset

ROOT = Path(__file__).resolve().parents[1]


def rows() -> list[dict[str, str]]:
    with BENCHMARK_PATH.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def plain(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def test_columns_and_size() -> None:
    data = rows()
    assert list(data[0]) == ["code", "description", "rephrasing_id", "rephrasing"]
    assert len(data) == 1000


def test_codes_are_100_distinct_fy2026_codes_50_50() -> None:
    codes = default_code_set()
    distinct = sorted({r["code"] for r in rows()})
    assert len(distinct) == 100
    assert all(c in codes for c in distinct)
    assert sum(len(c) == 3 for c in distinct) == 50
    assert sum(len(c.replace(".", "")) == 6 for c in distinct) == 50
    for r in rows():
        assert r["description"] == codes.get(r["code"]).description


def test_ten_distinct_rephrasings_per_code() -> None:
    by_code: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows():
        by_code[r["code"]].append(r)
    for code, group in by_code.items():
        assert sorted(int(r["rephrasing_id"]) for r in group) == list(range(1, 11)), code
        assert len({plain(r["rephrasing"]) for r in group}) == 10, code


def test_rephrasings_differ_from_description_and_hide_the_code() -> None:
    for r in rows():
        text = r["rephrasing"]
        assert text.strip() == text and text, r
        assert plain(text) != plain(r["description"]), r
        assert r["code"].lower() not in text.lower(), r
        assert r["code"].replace(".", "").lower() not in re.findall(r"[a-z0-9]+", text.lower()), r


def test_loads_as_a_dataset() -> None:
    data = load_dataset(code_set=default_code_set())
    assert len(data.queries) == 1000 and not data.unknown
    assert data.text_column == "rephrasing" and len(data.codes) == 100


def test_draw_script_reproduces_the_codes() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "draw_benchmark_codes.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "100 codes match seed" in result.stdout


def test_datasheet_ships_beside_the_data() -> None:
    sheet = (BENCHMARK_PATH.parent / "DATASHEET.md").read_text(encoding="utf-8")
    assert "20260401" in sheet and "2401.01943" in sheet


# ------------------------------------------------------------------------------ the development set


def dev_rows() -> list[dict[str, str]]:
    from icdsearch.evaluate import PARAPHRASE_DEV_PATH

    with PARAPHRASE_DEV_PATH.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_dev_set_is_80_other_codes_two_rephrasings_each_by_the_benchmark_rules() -> None:
    codes = default_code_set()
    data = dev_rows()
    assert list(data[0]) == ["code", "description", "rephrasing_id", "rephrasing"] and len(data) == 160
    distinct = sorted({r["code"] for r in data})
    assert len(distinct) == 80 and not set(distinct) & {r["code"] for r in rows()}
    assert sum(len(c) == 3 for c in distinct) == 40
    assert sum(len(c.replace(".", "")) == 6 for c in distinct) == 40
    by_code: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in data:
        assert r["description"] == codes.get(r["code"]).description
        text = r["rephrasing"]
        assert text.strip() == text and plain(text) != plain(r["description"]), r
        assert r["code"].lower() not in text.lower(), r
        assert r["code"].replace(".", "").lower() not in re.findall(r"[a-z0-9]+", text.lower()), r
        by_code[r["code"]].append(r)
    for code, group in by_code.items():
        assert sorted(int(r["rephrasing_id"]) for r in group) == [1, 2], code
        assert len({plain(r["rephrasing"]) for r in group}) == 2, code


def test_dev_draw_is_reproduced_and_named_in_the_datasheet() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "draw_benchmark_codes.py"), "--dev", "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "80 codes match seed 20261201" in result.stdout
    sheet = (BENCHMARK_PATH.parent / "DATASHEET.md").read_text(encoding="utf-8")
    assert "paraphrase_dev.csv" in sheet and "20261201" in sheet
    data = load_dataset("paraphrase-dev", code_set=default_code_set())
    assert len(data.queries) == 160 and not data.unknown


# ------------------------------------------------------------------------------ the shorthand dataset


def shorthand_rows() -> list[dict[str, str]]:
    from icdsearch.evaluate import SHORTHAND_PATH

    with SHORTHAND_PATH.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_shorthand_targets_are_billable_fy2026_codes() -> None:
    import hashlib

    data = shorthand_rows()
    assert list(data[0]) == ["code", "query", "kind", "split"] and len(data) >= 150
    full = default_code_set()
    for row in data:
        code = full.get(row["code"])
        assert code is not None and code.billable, row
        assert row["kind"] in {"abbreviation", "shorthand", "lay", "misspelling", "laterality", "encounter"}
        # The split is the datasheet's rule, not a hand choice.
        expected = "tune" if hashlib.sha256(row["query"].encode("utf-8")).digest()[0] < 102 else "heldout"
        assert row["split"] == expected, row
    queries = [plain(r["query"]) for r in data]
    assert len(set(queries)) == len(queries)
    held_out = [r for r in data if r["split"] == "heldout"]
    assert len(held_out) >= 150 * 0.6 and {r["kind"] for r in held_out} >= {"abbreviation", "lay", "laterality"}
