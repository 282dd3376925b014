"""The parity suite: the tests generated from the op records (sweep and fuzz, error inputs,
misuses). `tfparity run` runs it wherever tfparity is installed; `pytest` runs it beside tests/."""
