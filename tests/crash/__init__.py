"""Crash, power-loss, fault-injection and bad-input suites (issue 3 items 1, 2, 3, 6)."""
