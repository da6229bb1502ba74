"""Queries: the safe ADQL builder, TAP execution, the answer cache and name resolution."""
