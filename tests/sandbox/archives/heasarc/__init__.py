"""Tests of the sandbox's heasarc shape (vodaxa/sandbox/archives/heasarc)."""
