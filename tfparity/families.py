"""The op families: a record's or misuse's `family`, a candidate's `FAMILIES`, `tfparity run --families`."""

FAMILIES: tuple[str, ...] = ("tf.nn", "keras")  # TF's softmax-family ops; Keras 3's losses on them
