"""An independent NumPy implementation of TensorFlow 2's softmax family and Keras 3's cross-entropy losses.

Every op has TF's name and keyword arguments, and a `<op>_vjp(cotangent, ...)` that
returns the gradient of sum(cotangent * op(...)) for each float input, by name.
impl never imports TensorFlow.
"""

from impl.activations import (
    keras_log_softmax,
    keras_log_softmax_vjp,
    keras_softmax,
    keras_softmax_layer,
    keras_softmax_layer_vjp,
    keras_softmax_vjp,
    log_softmax,
    log_softmax_vjp,
    sigmoid,
    sigmoid_vjp,
    softmax,
    softmax_vjp,
)
from impl.errors import InvalidArgumentError
from impl.keras import (
    binary_crossentropy,
    binary_crossentropy_vjp,
    binary_focal_crossentropy,
    binary_focal_crossentropy_vjp,
    categorical_crossentropy,
    categorical_crossentropy_vjp,
    categorical_focal_crossentropy,
    categorical_focal_crossentropy_vjp,
    sigmoid_then_binary_crossentropy,
    sigmoid_then_binary_crossentropy_vjp,
    softmax_then_categorical_crossentropy,
    softmax_then_categorical_crossentropy_vjp,
    sparse_categorical_crossentropy,
    sparse_categorical_crossentropy_vjp,
)
from impl.losses import (
    sigmoid_cross_entropy_with_logits,
    sigmoid_cross_entropy_with_logits_vjp,
    softmax_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits_vjp,
    sparse_softmax_cross_entropy_with_logits,
    sparse_softmax_cross_entropy_with_logits_vjp,
    weighted_cross_entropy_with_logits,
    weighted_cross_entropy_with_logits_vjp,
)
from impl.reduction import reduced_loss, reduced_loss_vjp

__all__ = [
    "InvalidArgumentError",
    "binary_crossentropy",
    "binary_crossentropy_vjp",
    "binary_focal_crossentropy",
    "binary_focal_crossentropy_vjp",
    "categorical_crossentropy",
    "categorical_crossentropy_vjp",
    "categorical_focal_crossentropy",
    "categorical_focal_crossentropy_vjp",
    "keras_log_softmax",
    "keras_log_softmax_vjp",
    "keras_softmax",
    "keras_softmax_layer",
    "keras_softmax_layer_vjp",
    "keras_softmax_vjp",
    "log_softmax",
    "log_softmax_vjp",
    "reduced_loss",
    "reduced_loss_vjp",
    "sigmoid",
    "sigmoid_cross_entropy_with_logits",
    "sigmoid_cross_entropy_with_logits_vjp",
    "sigmoid_then_binary_crossentropy",
    "sigmoid_then_binary_crossentropy_vjp",
    "sigmoid_vjp",
    "softmax",
    "softmax_cross_entropy_with_logits",
    "softmax_cross_entropy_with_logits_vjp",
    "softmax_then_categorical_crossentropy",
    "softmax_then_categorical_crossentropy_vjp",
    "softmax_vjp",
    "sparse_categorical_crossentropy",
    "sparse_categorical_crossentropy_vjp",
    "sparse_softmax_cross_entropy_with_logits",
    "sparse_softmax_cross_entropy_with_logits_vjp",
    "weighted_cross_entropy_with_logits",
    "weighted_cross_entropy_with_logits_vjp",
]

# Every function computes each case along the axes it names, so a case stacked with others on a
# new leading axis gets the answer it gets alone: tfparity may check many cases per call.
BATCHABLE = True
