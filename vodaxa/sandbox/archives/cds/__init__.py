"""CDS's shape: the Sesame name resolver."""
