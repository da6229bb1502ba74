"""Tests of the sandbox's archive shapes (vodaxa/sandbox/archives), one folder per archive."""
