"""The int8 model: the fp32 ONNX export rewritten so each weight matrix multiply runs in int8.

Scheme (:data:`SCHEME`): every MatMul with a constant 2-D weight becomes
``x -> x / smooth -> one scale per token -> uint8 -> MatMulIntegerToFloat(int8 weights, one scale per output
channel) -> * token scale``. Why each part (mean cosine to the fp32 vectors of 2,000 descriptions, measured
once while the scheme was chosen, on an AVX-512 VNNI host; `make bench-int8` measures the shipped one):

- **One scale per token**, computed at run time from that token's own activations. onnxruntime's
  ``quantize_dynamic`` takes one scale for the whole batch, so a text's vector depends on the texts it is
  batched with (a query alone and the same text among 32 documents: cosine down to 0.981) and one long or
  unusual text coarsens every other text's quantization (mean cosine to fp32 0.992). Per token, a text's
  vector is the same in any batch, and the mean cosine is 0.997.
- **Smoothing** (SmoothQuant, Xiao et al. 2023, alpha 0.5): a few activation channels are much larger than
  the rest, and one per-token scale spends its range on them. Dividing each input channel by
  ``smooth = max|x_c|^0.5 / max|W_c|^0.5`` (activation maxima calibrated once on 512 ICD-10-CM descriptions)
  and multiplying the weight's row by it leaves the product unchanged and evens the ranges: 0.999.
- **7-bit weights** (-63..63): without AVX-512 VNNI, x86's u8 x s8 multiply adds pairs into 16 bits, which
  overflow with 8-bit activations and 8-bit weights. Seven bits keep every host exact and cost about 0.001 of
  cosine (0.998; the benchmark's exact match: 0.1 points below fp32 in dense and in hybrid mode).

Pure graph rewriting with ``onnx`` plus one fp32 calibration run on onnxruntime; no torch.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import numpy as np

#: Recorded in each int8 collection: vectors of another scheme never meet these query vectors.
SCHEME = "dynamic int8, per-token activations, per-channel 7-bit weights, smoothed (alpha 0.5)"
ALPHA = 0.5
WEIGHT_MAX = 63  # 7-bit weights: see the module docstring
ACTIVATION_ZERO = 128  # activations are symmetric in -127..127, shifted into uint8
CALIBRATION_TEXTS = 512
CALIBRATION_SEED = 11


def _calibration_texts() -> list[str]:
    from .codeset import default_code_set

    descriptions = [c.description for c in default_code_set()]
    return random.Random(CALIBRATION_SEED).sample(descriptions, CALIBRATION_TEXTS)


def _targets(graph) -> list:  # type: ignore[no-untyped-def]
    """The MatMuls whose second input is a constant matrix (the model's weights, not attention's products)."""
    weights = {i.name: i for i in graph.initializer}
    return [n for n in graph.node if n.op_type == "MatMul" and n.input[1] in weights and len(weights[n.input[1]].dims) == 2]


def _activation_maxima(model_path: Path, inputs: list[str], encode) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """Per-channel max |x| of each named tensor over the calibration texts' real (unpadded) tokens."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    from .models import session_options

    model = onnx.load(str(model_path))
    for name in inputs:
        model.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    with tempfile.TemporaryDirectory() as work:
        onnx.save(model, f"{work}/calibrate.onnx", save_as_external_data=True)
        session = ort.InferenceSession(f"{work}/calibrate.onnx", session_options(), providers=["CPUExecutionProvider"])
        names = {i.name for i in session.get_inputs()}
        texts = _calibration_texts()
        maxima: dict[str, np.ndarray] = {}
        for start in range(0, len(texts), 32):
            feed = encode(texts[start : start + 32])
            mask = feed["attention_mask"].astype(bool)
            for name, value in zip(inputs, session.run(inputs, {k: v for k, v in feed.items() if k in names})):
                value = np.abs(value[mask] if value.ndim == 3 else value)
                top = value.reshape(-1, value.shape[-1]).max(axis=0)
                maxima[name] = np.maximum(maxima[name], top) if name in maxima else top
    return maxima


def quantize(source: Path, target: Path, encode) -> int:  # type: ignore[no-untyped-def]
    """Write the int8 model of the fp32 model ``source`` to ``target``; ``encode(texts)`` gives the model's
    input arrays. Returns how many matrix multiplies it rewrote."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    weights = {i.name: i for i in graph.initializer}
    targets = _targets(graph)
    maxima = _activation_maxima(source, sorted({n.input[0] for n in targets}), encode)
    added: list = []

    def constant(name: str, value: np.ndarray) -> str:
        added.append(numpy_helper.from_array(value, name))
        return name

    eps = constant("q_eps", np.array(1e-8, np.float32))
    top = constant("q_127", np.array(127.0, np.float32))
    zero = constant("q_zero", np.array(ACTIVATION_ZERO, np.uint8))
    one = constant("q_one", np.array(1.0, np.float32))
    axis1 = constant("q_axis1", np.array([1], np.int64))
    first, last = constant("q_0", np.array([0], np.int64)), constant("q_-1", np.array([-1], np.int64))
    rewritten = {id(n): i for i, n in enumerate(targets)}
    nodes = []
    for node in graph.node:
        if id(node) not in rewritten:
            nodes.append(node)
            continue
        p = f"q{rewritten[id(node)]}_"
        w = numpy_helper.to_array(weights[node.input[1]]).astype(np.float32)
        smooth = (np.maximum(maxima[node.input[0]], 1e-5) ** ALPHA
                  / np.maximum(np.abs(w).max(axis=1), 1e-5) ** (1 - ALPHA)).astype(np.float32)
        w = w * smooth[:, None]
        w_scale = (np.maximum(np.abs(w).max(axis=0), 1e-12) / WEIGHT_MAX).astype(np.float32)
        constant(p + "w", np.clip(np.round(w / w_scale), -WEIGHT_MAX, WEIGHT_MAX).astype(np.int8))
        constant(p + "w_scale", w_scale)
        constant(p + "unsmooth", (1.0 / smooth).astype(np.float32))
        constant(p + "rows", np.array([-1, w.shape[0]], np.int64))
        constant(p + "cols", np.array([w.shape[1]], np.int64))
        nodes += [
            helper.make_node("Mul", [node.input[0], p + "unsmooth"], [p + "x"]),
            helper.make_node("Shape", [p + "x"], [p + "shape"]),
            helper.make_node("Reshape", [p + "x", p + "rows"], [p + "x2"]),  # tokens x channels
            helper.make_node("Abs", [p + "x2"], [p + "abs"]),
            helper.make_node("ReduceMax", [p + "abs"], [p + "max"], keepdims=0, axes=[1]),
            helper.make_node("Max", [p + "max", eps], [p + "max1"]),
            helper.make_node("Div", [p + "max1", top], [p + "scale"]),  # one per token
            helper.make_node("Shape", [p + "scale"], [p + "n"]),
            helper.make_node("Expand", [zero, p + "n"], [p + "zeros"]),
            helper.make_node("QuantizeLinear", [p + "x2", p + "scale", p + "zeros"], [p + "u8"], axis=0),
            helper.make_node("MatMulIntegerToFloat", [p + "u8", p + "w", one, p + "w_scale", zero], [p + "y"],
                             domain="com.microsoft"),
            helper.make_node("Unsqueeze", [p + "scale", axis1], [p + "scale2"]),
            helper.make_node("Mul", [p + "y", p + "scale2"], [p + "y2"]),
            helper.make_node("Slice", [p + "shape", first, last], [p + "lead"]),
            helper.make_node("Concat", [p + "lead", p + "cols"], [p + "out_shape"], axis=0),
            helper.make_node("Reshape", [p + "y2", p + "out_shape"], [node.output[0]]),
        ]
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(added)
    used = {name for n in graph.node for name in n.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, str(target))
    return len(targets)
