"""Where deliveries come from: the HTTP server, the in-process receiver, the mocks and the
standalone receiver."""
