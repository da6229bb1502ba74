"""``python -m vodaxa.sandbox [serve|query] ...``: the same as ``vodaxa sandbox ...``."""

import sys

from ..cli import main

if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        args = ["serve", *args]
    sys.exit(main(["sandbox", *args]))
