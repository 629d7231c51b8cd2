"""icdsearch: find the right ICD-10-CM code from the words people write.

The Python API has the CLI's verbs::

    from icdsearch import ingest, search
    ingest()                                   # once: embed all FY2026 codes with the default model
    for hit in search("high blood pressure", k=5):
        print(hit.code, hit.description, hit.distance)
    report = evaluate()                        # the rebuilt arXiv 2401.01943 benchmark
"""

from __future__ import annotations

from .codeset import Code, CodeSet, default_code_set, load_csv, load_order_file, normalize_code, resolve_code_set
from .collections import (
    CollectionInfo,
    Store,
    StoreConfig,
    collection_info,
    delete_collection,
    list_collections,
)
from .errors import (
    BadCodeSet,
    BadDataset,
    BadQuery,
    CollectionNotFound,
    DamagedCollection,
    IcdSearchError,
    IncompleteCollection,
    ModelLoadError,
    ModelMismatch,
    StoreError,
    StoreLocked,
    StoreNotFound,
    UnknownModel,
)
from .evaluate import EvaluationReport, ModelResult, evaluate, load_dataset
from .ingest import IngestReport, ingest
from .models import DEFAULT_MODEL, REGISTRY, ModelSpec, resolve_model
from .query import Searcher, search, search_many
from .results import Hit

__version__ = "0.1.0"

__all__ = [
    "BadCodeSet", "BadDataset", "BadQuery", "EvaluationReport", "ModelResult", "evaluate", "load_dataset", "Code", "CodeSet", "CollectionInfo", "CollectionNotFound", "DamagedCollection", "DEFAULT_MODEL", "Hit",
    "IcdSearchError", "IncompleteCollection", "IngestReport", "ModelLoadError", "ModelMismatch", "ModelSpec",
    "REGISTRY", "Store", "StoreConfig", "StoreError", "StoreLocked", "StoreNotFound", "UnknownModel", "collection_info",
    "default_code_set", "delete_collection", "ingest", "list_collections", "load_csv", "load_order_file",
    "normalize_code", "resolve_code_set", "resolve_model", "Searcher", "search", "search_many",
]
