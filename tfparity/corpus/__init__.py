"""A parity corpus: TF's answers as files, so a candidate is checked where TensorFlow is absent.

Three layers, as golden suites keep them (glibc's libm tests, NumPy's umath validation sets):

1. `cases/`: each case's spec, inputs, cotangent and exact answer, the same on every platform
   (exact: the value rounded to the case's dtype plus its residual in ULP of that dtype, so an
   error of a fraction of an ULP stays measurable);
2. `answers/<fingerprint>/`: TF's answers (values, gradients, the classes it raised) on one
   backend, one folder per fingerprint, with the probe's answers and the CPU's flags;
3. tolerances and known divergences stay in the records: code, versioned with the harness.

Plain files NumPy alone reads, one .json and one .npz per op and dtype (`files.packed` says how
an array is found; bfloat16 is stored as its bit pattern), each listed with its SHA-256 in
`manifest.json` beside the schema and corpus versions and each backend's provenance. `capture`
writes a corpus (with TF), `stored` answers from one (without), `merge` joins several.
"""
