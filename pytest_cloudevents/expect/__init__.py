"""The test-facing API over a recording: reads, waits and assertions."""
