"""What the oracle gives back, readable without TensorFlow: TF's errors as `OracleError`, and a
tape's `Gradients`. A corpus (`tfparity.corpus`) answers in the same types where TF is absent."""

from __future__ import annotations

import numpy as np


class OracleError(Exception):
    """A TensorFlow error, keeping its class name (`tf_class`) and message."""

    def __init__(self, tf_class: str, message: str):
        super().__init__(f"{tf_class}: {message}")
        self.tf_class = tf_class
        self.message = message


class Gradients(dict):
    """Gradients by input name; `value` is the op's output, computed with them."""

    value: np.ndarray
