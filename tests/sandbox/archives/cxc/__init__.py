"""Tests of the sandbox's cxc shape (vodaxa/sandbox/archives/cxc)."""
