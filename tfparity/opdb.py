"""The op database: one record per op, from which every parity test is generated.

Each record says how to build the op's inputs, which inputs get a VJP check, the tolerance per
dtype (with its reason), the size of the terms TF's formula adds (the `scales`, which bound its
absolute rounding error), the error inputs, and the known divergences of TF 2.21 on CPU, each
with the evidence that pins it. The records live in `tfparity.ops`, one module per op family;
this module gathers them: `RECORDS` (in the order the tests are generated in) and `BY_NAME`.
"""

from __future__ import annotations

from tfparity.ops.activations import LOG_SOFTMAX, SIGMOID, SOFTMAX
from tfparity.ops.binary_losses import SIGMOID_CE, WEIGHTED_CE
from tfparity.ops.class_losses import SOFTMAX_CE, SPARSE_CE
from tfparity.ops.keras import KERAS_RECORDS as KERAS_LOSS_RECORDS
from tfparity.ops.keras_activations import ACTIVATION_RECORDS
from tfparity.ops.keras_reductions import REDUCTION_RECORDS
from tfparity.records import OpRecord

__all__ = ["BY_NAME", "KERAS_RECORDS", "LOG_SOFTMAX", "NN_RECORDS", "RECORDS", "SIGMOID", "SIGMOID_CE", "SOFTMAX",
           "SOFTMAX_CE", "SPARSE_CE", "WEIGHTED_CE"]

# tf.nn's ops
NN_RECORDS: tuple[OpRecord, ...] = (SOFTMAX, LOG_SOFTMAX, SIGMOID, SOFTMAX_CE, SPARSE_CE, SIGMOID_CE, WEIGHTED_CE)
# Keras 3's cross-entropy losses on its TensorFlow backend, one record per loss and variant, then
# its loss classes called, one record per reduction, and its softmax over several axes and masked
KERAS_RECORDS: tuple[OpRecord, ...] = KERAS_LOSS_RECORDS + REDUCTION_RECORDS + ACTIVATION_RECORDS
RECORDS: tuple[OpRecord, ...] = NN_RECORDS + KERAS_RECORDS
BY_NAME = {record.name: record for record in RECORDS}
