"""The tfparity harness: op records, case generation, comparison, and the tests built from them."""
