"""Tests of the sandbox's erosita shape (vodaxa/sandbox/archives/erosita)."""
