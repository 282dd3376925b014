"""The op records, one module per op family; `tfparity.opdb` gathers them into `RECORDS`.

- `common`: what several families share: dtype and regime sets, the modes, the flush-to-zero
  divergence, the tolerance tables and the error inputs written as users call tf.nn;
- `scales`: the size of the terms TF's formula adds, per op and check (written as the
  mathematics, independently of impl, so a bug in impl cannot move its own tolerance);
- `activations` (softmax, log_softmax, sigmoid), `class_losses` (softmax and sparse softmax
  cross entropy), `binary_losses` (sigmoid and weighted cross entropy): the records.
"""
