"""ONNX Runtime as a TF model exported to ONNX runs it: values only (`GRADIENTS = False`).

Each op is the ONNX graph tf2onnx (1.17, opset 17) makes of TF 2.21's op, built with
`onnx.helper` and run in a CPU `InferenceSession` with ORT's default graph optimizations. A graph
is made per op, input dtypes and shapes, and axis, as an export of a function with that input
signature is. Where the graph departs from what tf2onnx emits, it says so:

- the reshapes TF puts around its cross-entropy kernels (to [-1, classes] and back) are left out:
  they move no numbers;
- tf2onnx has no handler for TF's Log1p (sigmoid and weighted cross entropy use it), so an export
  of those fails; the graph writes log1p(y) as Log(Add(1, y)), as a user patching the export would.

Inputs are taken as NumPy takes them (a Python float is float64), and errors ORT raises for an
input the graph cannot take (a type or shape it rejects) are raised as `InvalidArgumentError`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

from candidates.onnxruntime.divergences import DIVERGENCES
from impl.errors import InvalidArgumentError

__all__ = ["DIVERGENCES", "FAMILIES", "GRADIENTS"]

FAMILIES = ("tf.nn",)  # Keras's losses are not exported here
GRADIENTS = False
OPSET = 17
_REJECTED = ("InvalidArgument", "InvalidGraph", "Fail", "RuntimeException")  # ORT's classes for an input it cannot take


class _Graph:
    """An ONNX graph under construction: nodes in order, constants as initializers."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.constants: list[onnx.TensorProto] = []

    def __call__(self, op: str, *inputs: str, **attributes: object) -> str:
        out = f"t{len(self.nodes)}"
        self.nodes.append(helper.make_node(op, list(inputs), [out], **attributes))
        return out

    def constant(self, value: np.ndarray) -> str:
        name = f"c{len(self.constants)}"
        self.constants.append(numpy_helper.from_array(np.asarray(value), name))
        return name


@functools.lru_cache(maxsize=4096)
def _session(build: Callable, signature: tuple[tuple[str, str, tuple[int, ...]], ...],
             options: tuple) -> tuple[onnxruntime.InferenceSession, np.dtype]:
    graph = _Graph()
    names = [name for name, _, _ in signature]
    out, dtype = build(graph, {name: np.dtype(d) for name, d, _ in signature}, *names, *options)
    inputs = [helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(d)), list(shape))
              for name, d, shape in signature]
    output = helper.make_tensor_value_info(out, helper.np_dtype_to_tensor_dtype(dtype), None)
    model = helper.make_model(helper.make_graph(graph.nodes, build.__name__, inputs, [output], graph.constants),
                              opset_imports=[helper.make_opsetid("", OPSET)])
    settings = onnxruntime.SessionOptions()
    settings.intra_op_num_threads, settings.log_severity_level = 1, 3
    return onnxruntime.InferenceSession(model.SerializeToString(), settings,
                                        providers=["CPUExecutionProvider"]), dtype


def _run(build: Callable, *options: object, **inputs: object) -> np.ndarray:
    """The graph `build` makes for these inputs' dtypes and shapes (and `options`), run on them."""
    arrays = {name: np.asarray(value) for name, value in inputs.items()}
    signature = tuple((name, a.dtype.str, a.shape) for name, a in arrays.items())
    try:
        session, _ = _session(build, signature, options)
        return session.run(None, arrays)[0]
    except Exception as error:
        if type(error).__name__ in _REJECTED:
            raise InvalidArgumentError(f"onnxruntime: {error}") from None
        raise


def _last(axis: int | None, rank: int) -> int:
    """TF's axis as ONNX's non-negative one (None is the last)."""
    axis = -1 if axis is None else axis
    if not -rank <= axis < rank:
        raise InvalidArgumentError(f"axis {axis} is out of range for rank {rank}")
    return axis % rank


def _to_last(graph: _Graph, x: str, axis: int, rank: int) -> str:
    """TF's python moves a non-last class axis to the end (the others keep their order) before
    its cross-entropy kernels."""
    if axis == rank - 1:
        return x
    return graph("Transpose", x, perm=[*(i for i in range(rank) if i != axis), axis])


def _precise(graph: _Graph, x: str, dtype: np.dtype, widened: tuple[str, ...]) -> tuple[str, np.dtype]:
    """TF's cross entropies compute float16 (and softmax CE bfloat16) in float32."""
    if dtype.name in widened:
        return graph("Cast", x, to=TensorProto.FLOAT), np.dtype(np.float32)
    return x, dtype


def _narrowed(graph: _Graph, x: str, precise: np.dtype, dtype: np.dtype) -> tuple[str, np.dtype]:
    return (graph("Cast", x, to=helper.np_dtype_to_tensor_dtype(dtype)), dtype) if precise != dtype else (x, dtype)


def _softmax_graph(graph: _Graph, dtypes: dict[str, np.dtype], logits: str, axis: int) -> tuple[str, np.dtype]:
    return graph("Softmax", logits, axis=axis), dtypes["logits"]


def _log_softmax_graph(graph: _Graph, dtypes: dict[str, np.dtype], logits: str, axis: int) -> tuple[str, np.dtype]:
    return graph("LogSoftmax", logits, axis=axis), dtypes["logits"]


def _sigmoid_graph(graph: _Graph, dtypes: dict[str, np.dtype], x: str) -> tuple[str, np.dtype]:
    return graph("Sigmoid", x), dtypes["x"]


def _softmax_ce_graph(graph: _Graph, dtypes: dict[str, np.dtype], labels: str, logits: str, axis: int, rank: int) -> tuple[str, np.dtype]:
    """tf2onnx's SoftmaxCrossEntropyWithLogits: -ReduceSum(labels * LogSoftmax(logits), -1)."""
    dtype = dtypes["logits"]
    x, precise = _precise(graph, logits, dtype, ("float16", "bfloat16"))
    z = graph("Cast", labels, to=helper.np_dtype_to_tensor_dtype(precise))
    x, z = _to_last(graph, x, axis, rank), _to_last(graph, z, axis, rank)
    total = graph("ReduceSum", graph("Mul", z, graph("LogSoftmax", x, axis=-1)), graph.constant(np.array([-1])),
                  keepdims=0)
    return _narrowed(graph, graph("Mul", graph.constant(np.array(-1, precise)), total), precise, dtype)


def _sparse_ce_graph(graph: _Graph, dtypes: dict[str, np.dtype], labels: str, logits: str, classes: int) -> tuple[str, np.dtype]:
    """tf2onnx's SparseSoftmaxCrossEntropyWithLogits: a one-hot mask by Equal against a Range,
    then -log(sum(mask * e) / sum(e)) with e = exp(x - max(x)) (no LogSoftmax)."""
    dtype = dtypes["logits"]
    x, precise = _precise(graph, logits, dtype, ("float16",))
    if dtypes["labels"] == np.int32:  # tf2onnx casts int32 labels; other dtypes meet the graph as they are
        labels = graph("Cast", labels, to=TensorProto.INT64)
    label = graph("Unsqueeze", labels, graph.constant(np.array([-1])))
    span = graph("Range", graph.constant(np.array(0)), graph.constant(np.array(classes)), graph.constant(np.array(1)))
    one_hot = graph("Cast", graph("Equal", label, span), to=helper.np_dtype_to_tensor_dtype(precise))
    e = graph("Exp", graph("Sub", x, graph("ReduceMax", x, axes=[-1], keepdims=1)))
    last = graph.constant(np.array([-1]))
    ratio = graph("Div", graph("ReduceSum", graph("Mul", one_hot, e), last, keepdims=0),
                  graph("ReduceSum", e, last, keepdims=0))
    return _narrowed(graph, graph("Mul", graph("Log", ratio), graph.constant(np.array(-1, precise))), precise, dtype)


def _log1p(graph: _Graph, y: str, dtype: np.dtype) -> str:
    return graph("Log", graph("Add", graph.constant(np.array(1, dtype)), y))


def _sigmoid_ce_graph(graph: _Graph, dtypes: dict[str, np.dtype], labels: str, logits: str) -> tuple[str, np.dtype]:
    """TF's composite: where(x >= 0, x, 0) - x * z + log1p(exp(where(x >= 0, -x, x))), each
    where lowered by tf2onnx to arithmetic on the cast condition."""
    dtype = dtypes["logits"]
    x, zero = logits, graph.constant(np.array(0, dtype))
    cond = graph("GreaterOrEqual", x, zero)
    taken = graph("Cast", cond, to=helper.np_dtype_to_tensor_dtype(dtype))
    other = graph("Cast", graph("Not", cond), to=helper.np_dtype_to_tensor_dtype(dtype))

    def select(if_true: str, if_false: str) -> str:
        return graph("Add", graph("Mul", taken, if_true), graph("Mul", if_false, other))

    relu, neg_abs = select(x, zero), select(graph("Neg", x), x)
    return graph("Add", graph("Sub", relu, graph("Mul", x, labels)), _log1p(graph, graph("Exp", neg_abs), dtype)), dtype


def _weighted_ce_graph(graph: _Graph, dtypes: dict[str, np.dtype], labels: str, logits: str, pos_weight: str) -> tuple[str, np.dtype]:
    """TF's composite: (1 - z) * x + (1 + (q - 1) * z) * (log1p(exp(-|x|)) + relu(-x))."""
    dtype = dtypes["logits"]
    x, z, one = logits, labels, graph.constant(np.array(1, dtype))
    q = graph("Cast", pos_weight, to=helper.np_dtype_to_tensor_dtype(dtype))
    weight = graph("Add", one, graph("Mul", graph("Sub", q, one), z))
    softplus = graph("Add", _log1p(graph, graph("Exp", graph("Neg", graph("Abs", x))), dtype), graph("Relu", graph("Neg", x)))
    return graph("Add", graph("Mul", graph("Sub", one, z), x), graph("Mul", weight, softplus)), dtype


def softmax(logits: object, axis: int | None = -1) -> np.ndarray:
    return _run(_softmax_graph, _last(axis, np.ndim(logits)), logits=logits)


def log_softmax(logits: object, axis: int | None = -1) -> np.ndarray:
    return _run(_log_softmax_graph, _last(axis, np.ndim(logits)), logits=logits)


def sigmoid(x: object) -> np.ndarray:
    return _run(_sigmoid_graph, x=x)


def softmax_cross_entropy_with_logits(labels: object, logits: object, axis: int | None = -1) -> np.ndarray:
    rank = np.ndim(logits)
    return _run(_softmax_ce_graph, _last(axis, rank), rank, labels=labels, logits=logits)


def sparse_softmax_cross_entropy_with_logits(labels: object, logits: object) -> np.ndarray:
    return _run(_sparse_ce_graph, np.shape(logits)[-1] if np.ndim(logits) else 0, labels=labels, logits=logits)


def sigmoid_cross_entropy_with_logits(labels: object, logits: object) -> np.ndarray:
    return _run(_sigmoid_ce_graph, labels=labels, logits=logits)


def weighted_cross_entropy_with_logits(labels: object, logits: object, pos_weight: object) -> np.ndarray:
    return _run(_weighted_ce_graph, labels=labels, logits=logits, pos_weight=pos_weight)
