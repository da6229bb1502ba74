"""Archive adapters: one module per archive for what its VO services do not cover (tables, layouts)."""
