"""Work-arounds for bugs in the libraries vodaxa stands on, each in one place with the reason.

astropy's C writer of VOTable TABLEDATA (``astropy/io/votable/src/tablewriter.c``, astropy 8.0.2 here) writes the
string terminator one byte past its buffer when a row's text ends exactly at the buffer's size: a one-column table
whose cell is 219 ASCII letters does it every time.  The byte lands in the allocator's bookkeeping, and the process
crashes later somewhere unrelated (vodaxa's test suite saw segfaults in garbage collection, about one run in three,
once property tests wrote many VOTables).  vodaxa writes VOTables (the CLI's ``-o x.xml``, the query cache, pyvo's
TAP uploads), so it turns that writer off and lets astropy use its Python writer, which writes the same document.
"""

from __future__ import annotations

__all__ = ["safe_votable_writer"]


def safe_votable_writer() -> None:
    """Make astropy write VOTable TABLEDATA with its Python writer in this process (idempotent, cheap)."""
    from astropy.io.votable import tree

    tree._has_c_tabledata_writer = False  # the switch astropy itself reads before each TABLEDATA write
