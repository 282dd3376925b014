"""The misuse catalogue by family: `common` (the `Misuse` record, regimes, tolerances, shared
pieces), `tfnn` (the softmax family's ops), `keras` (Keras 3's losses). `tfparity.misusedb`
gathers them (MISUSES, BY_NAME)."""
