"""Sending CloudEvents: encoding, transports, retries, the clients and their results."""
