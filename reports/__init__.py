"""Per-case parity reports: recording under pytest(-xdist), CSV/HTML reports, the regression gate
and the `tfparity` command line."""
