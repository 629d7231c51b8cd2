"""The ICD-10-CM code set: the bundled FY2026 release and the CMS file loaders."""

from __future__ import annotations

from pathlib import Path

import pytest

from icdsearch.codeset import (
    DEFAULT_VERSION,
    BadCodeSet,
    chapter_of,
    code_set_version,
    default_code_set,
    load_csv,
    load_file,
    load_order_file,
    normalize_code,
    resolve_code_set,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("E11.9", "E11.9"),
        ("e119", "E11.9"),
        ("E119", "E11.9"),
        (" i10 ", "I10"),
        ("S93401A", "S93.401A"),
        ("s93.401a", "S93.401A"),
        ("O9A.119", "O9A.119"),
        ("high blood pressure", None),
        ("E1", None),
        ("E11.99999", None),
        ("11.9", None),
        ("", None),
    ],
)
def test_normalize_code(text: str, expected: str | None) -> None:
    assert normalize_code(text) == expected


def test_chapter_ranges_edges() -> None:
    assert chapter_of("A00.0") == 1
    assert chapter_of("D49.9") == 2 and chapter_of("D50.0") == 3
    assert chapter_of("H59.8") == 7 and chapter_of("H60.0") == 8
    assert chapter_of("O9A.1") == 15 and chapter_of("QA0") == 17
    assert chapter_of("T88.9") == 19 and chapter_of("U07.1") == 22
    assert chapter_of("W00") == 20 and chapter_of("Z99.89") == 21
    assert chapter_of("U99") == 0  # outside every chapter's range


def test_default_code_set_counts() -> None:
    codes = default_code_set()
    assert codes.version == DEFAULT_VERSION
    assert len(codes) == 98_186
    assert len({c.code for c in codes}) == 98_186
    assert sum(c.billable for c in codes) == 74_719
    assert sum(len(c.code) == 3 for c in codes) == 1_918


def test_default_code_set_records() -> None:
    codes = default_code_set()
    e119 = codes.get("E11.9")
    assert e119 is not None
    assert e119.description == "Type 2 diabetes mellitus without complications"
    assert (e119.category, e119.chapter, e119.billable, e119.parent) == ("E11", 4, True, "E11")
    e11 = codes.get("e11")
    assert e11 is not None and not e11.billable and e11.parent == ""
    assert codes.get("S93401A").parent == "S93.401"
    # B20 is both a block and a category: it appears once, as the billable category.
    b20 = codes.get("B20")
    assert b20 is not None and b20.billable and b20.chapter == 1
    assert "E11.9" in codes and "e119" in codes and "X99.999" not in codes


def test_chapters_agree_with_simple_icd_10_cm() -> None:
    import simple_icd_10_cm as cm

    codes = default_code_set()
    wrong = [c.code for c in codes if str(c.chapter) != cm.get_ancestors(c.code)[-1]]
    assert wrong == []


def test_billable_subset() -> None:
    billable = resolve_code_set("billable")
    assert billable.version == f"{DEFAULT_VERSION}-billable"
    assert len(billable) == 74_719 and all(c.billable for c in billable)
    assert code_set_version("billable") == billable.version
    assert code_set_version("all") == DEFAULT_VERSION


ORDER_LINES = [
    "00001 A00     0 Cholera                                                      Cholera",
    "00002 A000    1 Cholera due to Vibrio cholerae 01, biovar cholerae           Cholera due to Vibrio cholerae 01, biovar cholerae",
    "00003 A001    1 Cholera due to Vibrio cholerae 01, biovar eltor              Cholera due to Vibrio cholerae 01, biovar eltor",
    "00004 E11     0 Type 2 diabetes mellitus                                     Type 2 diabetes mellitus",
    "00005 E119    1 Type 2 diabetes mellitus without complications               Type 2 diabetes mellitus without complications",
    "00006 S93401A 1 Sprain of unsp ligament of right ankle, init encntr          Sprain of unspecified ligament of right ankle, initial encounter",
    "00007 I10     1 Essential (primary) hypertension                             Essential (primary) hypertension",
]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_order_file(tmp_path: Path) -> None:
    codes = load_order_file(write(tmp_path / "icd10cm_order_2027.txt", ORDER_LINES))
    assert [c.code for c in codes] == ["A00", "A00.0", "A00.1", "E11", "E11.9", "S93.401A", "I10"]
    assert not codes.get("A00").billable and codes.get("A00.0").billable and codes.get("I10").billable
    # The long description is used, not the abbreviated short one.
    assert codes.get("S93.401A").description == "Sprain of unspecified ligament of right ankle, initial encounter"
    assert codes.get("E11.9").parent == "E11" and codes.get("A00.1").parent == "A00"
    assert codes.get("S93.401A").parent == ""  # its ancestors are not in this file
    assert codes.get("E11.9").chapter == 4
    assert codes.version.startswith("icd10cm_order_2027-")
    assert code_set_version(str(tmp_path / "icd10cm_order_2027.txt")) == codes.version
    assert load_file(tmp_path / "icd10cm_order_2027.txt").version == codes.version


def test_order_file_version_follows_content(tmp_path: Path) -> None:
    first = load_order_file(write(tmp_path / "order.txt", ORDER_LINES)).version
    second = load_order_file(write(tmp_path / "order.txt", ORDER_LINES[:-1])).version
    assert first != second


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["00001 A00     0 Cholera", "this is not an order line"], ":2: not a CMS order-file line"),
        (["00001 A00     7 Cholera"], ":1: not a CMS order-file line"),
        (["00001 A00     0 Cholera", "00002 A00     0 Cholera"], ":2: code A00 appears twice"),
        (["00001 1234    1 Digits only"], "not an ICD-10-CM code"),
        ([""], "holds no codes"),
    ],
)
def test_order_file_errors(tmp_path: Path, lines: list[str], message: str) -> None:
    with pytest.raises(BadCodeSet, match=message):
        load_order_file(write(tmp_path / "bad.txt", lines))


def test_csv_with_header_and_leaf_billable(tmp_path: Path) -> None:
    path = write(tmp_path / "mine.csv", [
        "code,description", "E11,Type 2 diabetes mellitus", "E119,Type 2 diabetes mellitus without complications",
        '"I10","Essential (primary) hypertension"', "J45.909,\"Unspecified asthma, uncomplicated\"",
    ])
    codes = load_csv(path)
    assert [c.code for c in codes] == ["E11", "E11.9", "I10", "J45.909"]
    assert not codes.get("E11").billable and codes.get("E11.9").billable and codes.get("I10").billable
    assert codes.get("J45.909").description == "Unspecified asthma, uncomplicated"
    assert codes.get("E11.9").parent == "E11"
    assert load_file(path).version == codes.version


def test_csv_without_header(tmp_path: Path) -> None:
    codes = load_csv(write(tmp_path / "plain.csv", ["I10,Essential (primary) hypertension"]))
    assert len(codes) == 1 and codes.get("I10").description == "Essential (primary) hypertension"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"code,description\nnot-a-code,Something\n", "'not-a-code' is not an ICD-10-CM code"),
        (b"I10\n", "expected two columns"),
        (b"I10,\n", "I10 has no description"),
        (b"I10,a\ni10,b\n", "I10 appears twice"),
        (b"code,description\n", "holds no codes"),
        (b"I10,caf\xe9\n", "is not UTF-8 text"),
    ],
)
def test_csv_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(BadCodeSet, match=message):
        load_csv(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadCodeSet, match="code-set file not found"):
        resolve_code_set(str(tmp_path / "nope.txt"))
    with pytest.raises(BadCodeSet, match="code-set file not found"):
        code_set_version(str(tmp_path / "nope.txt"))
    with pytest.raises(BadCodeSet, match="is a directory"):
        resolve_code_set(str(tmp_path))


def test_subset_label_is_checked(small_codes) -> None:
    sub = small_codes.subset(lambda c: c.chapter == 4, "endo")
    assert sub.version == "test-small-endo" and {c.chapter for c in sub} == {4}
    with pytest.raises(ValueError):
        small_codes.subset(lambda c: True, "bad/label")
