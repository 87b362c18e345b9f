"""Test material: event factories, the catalogue of invalid messages, scorecards."""
