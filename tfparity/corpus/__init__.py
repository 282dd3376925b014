"""A parity corpus: TF's answers as files, so a candidate is checked where TensorFlow is absent.

Three layers, as golden suites keep them (glibc's libm tests, NumPy's umath validation sets):

1. `cases/`: each case's spec, inputs, cotangent and exact answer, the same on every platform
   (exact: the value rounded to the output dtype plus its residual in ULP);
2. `answers/<fingerprint>/`: TF's answers (values, gradients, the classes it raised) on one
   backend, one folder per fingerprint, with the probe's answers and the CPU's flags;
3. tolerances and known divergences stay in the records: code, versioned with the harness.

Plain files NumPy alone reads: `.npz` arrays (bfloat16 as its bit pattern, the key ending
`@bfloat16`) and JSON, listed with a SHA-256 each in `manifest.json` with the schema and corpus
versions and the provenance. `capture` writes one (with TF), `stored` answers from one (without).
"""
