"""What a test matches events with: `match`, JSON Schema contracts, trace propagation."""
