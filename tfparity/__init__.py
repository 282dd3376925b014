"""The parity engine: op records, the backend they are conditioned on, inputs, checks, comparison.

Data flows one way: records (`records`, `ops`, `misuses`) -> engine (`inputs`, `sweep`,
`strategies`, `check`, `compare`) -> rows (`reports.rows`) -> reports. `oracle` (TensorFlow) and
`impl` (the reference candidate) are leaves the engine calls; neither imports it.
"""
