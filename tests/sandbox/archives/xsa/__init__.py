"""Tests of the sandbox's xsa shape (vodaxa/sandbox/archives/xsa)."""
