"""The one delivery path every host runs: admit, bound, decode, check, record, answer."""
