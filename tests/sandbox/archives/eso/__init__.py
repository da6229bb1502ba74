"""Tests of the sandbox's eso shape (vodaxa/sandbox/archives/eso)."""
