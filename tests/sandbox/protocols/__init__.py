"""Tests of the sandbox's VO server machinery (vodaxa/sandbox/protocols)."""
