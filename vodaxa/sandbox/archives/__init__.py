"""The archives the sandbox imitates, one folder each, named as the client's ``vodaxa/archives/<archive>/``."""
