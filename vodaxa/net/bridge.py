"""The sync bridge: :func:`run_sync` runs a coroutine from plain code and from inside a running event loop
(a Jupyter cell) alike, the latter on vodaxa's private loop thread so the caller's loop is never blocked.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from typing import Any, TypeVar, cast

__all__ = ["run_sync"]

T = TypeVar("T")

_loop_thread: threading.Thread | None = None
_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def _background_loop() -> asyncio.AbstractEventLoop:
    """A private event loop on a daemon thread, for callers already inside a running loop."""
    global _loop, _loop_thread
    with _loop_lock:
        if _loop is None or not _loop.is_running():
            loop = asyncio.new_event_loop()
            started = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(started.set)
                loop.run_forever()

            _loop_thread = threading.Thread(target=run, name="vodaxa-io", daemon=True)
            _loop_thread.start()
            started.wait()
            _loop = loop
        return _loop


def run_sync(coro: Awaitable[T]) -> T:
    """Run a coroutine to completion and return its result, from plain code or from inside a running event loop.

    With no loop running here, ``asyncio.run`` is used; inside a running loop (a Jupyter cell) the
    coroutine runs on vodaxa's private loop thread, so the call blocks the cell but never the loop.
    Callable from any thread.

    Parameters
    ----------
    coro : collections.abc.Awaitable
        A coroutine (or any awaitable) to run.

    Returns
    -------
    object
        What ``coro`` returns.

    Raises
    ------
    Exception
        Whatever ``coro`` raises, unchanged.

    Examples
    --------
    >>> import asyncio
    >>> from vodaxa.net import run_sync
    >>> async def answer():
    ...     await asyncio.sleep(0)
    ...     return 42
    >>> run_sync(answer())
    42
    """
    box: list[Any] = []
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(_into(coro, box))
    else:
        asyncio.run_coroutine_threadsafe(_into(coro, box, escaped=True), _background_loop()).result()
    if isinstance(box[0], _Escaped):  # raised here, in the caller, where it belongs
        raise box[0].error
    return cast(T, box[0])


class _Escaped:
    """A KeyboardInterrupt or SystemExit raised by a coroutine on the background loop, carried back to the caller:
    raised there, it would end the loop's thread and leave the caller waiting forever."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


async def _into(awaitable: Awaitable[T], box: list[Any], *, escaped: bool = False) -> None:
    """Await ``awaitable`` into ``box``, so that its task's result is None: on its way out ``asyncio.run`` formats
    the task (result included) while putting back the SIGINT handler, twice, and the repr of a large result
    (a manifest, a table of thousands of rows) took milliseconds each time.  With ``escaped``, a KeyboardInterrupt
    or SystemExit goes into ``box`` as :class:`_Escaped`."""
    try:
        box.append(await awaitable)
    except (KeyboardInterrupt, SystemExit) as err:
        if not escaped:
            raise
        box.append(_Escaped(err))
