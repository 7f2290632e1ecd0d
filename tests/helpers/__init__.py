"""Shared helpers of the test suite (imported as `helpers.<module>`; tests/ is on sys.path)."""
