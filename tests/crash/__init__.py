"""Crash, power-loss, fault-injection and bad-input suites."""
