"""A small aiohttp application served from a thread on 127.0.0.1, for tests that play a server."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web


class AppThread:
    """Serves ``app`` on a free loopback port until :meth:`close`; ``base`` is its ``http://127.0.0.1:<port>``."""

    def __init__(self, app: web.Application) -> None:
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        self.loop.run_until_complete(web.TCPSite(self.runner, "127.0.0.1", 0).start())
        self.port = self.runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop serving and release the loop (no unclosed-loop warnings later)."""
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


def fits_file(payload: bytes, extra: tuple[str, ...] = ()) -> bytes:
    """A small valid FITS file (a primary header of 8-bit data holding ``payload``, and ``extra`` cards), whole
    to the last block."""
    cards = [f"SIMPLE  = {'T':>20}", f"BITPIX  = {8:>20}", f"NAXIS   = {1:>20}", f"NAXIS1  = {len(payload):>20}",
             *extra, "END"]  # fmt: skip
    header = "".join(c.ljust(80) for c in cards).encode()
    header += b" " * (-len(header) % 2880)
    return header + payload + bytes(-len(payload) % 2880)
