"""The one result type every search returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Hit:
    """One ranked answer: a code, its official description and its squared-L2 distance to the query."""

    rank: int
    code: str
    description: str
    distance: float
    category: str
    chapter: int
    billable: bool
    matched: str = ""  # the ICD-10-CM synonym (inclusion term) that matched, when it was not the description

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
