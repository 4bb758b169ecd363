"""The library's diagnostics, routed to :mod:`logging`.

librha reports what it does (a torn spool tail truncated, a spool near its
limit, a journal applied, each signature job, ...) through a logging
callback (``rha_log_set_callback``). Importing the package registers one
that hands every message to the logger ``rha.<target>``, the target's
``::`` turned into dots: ``rha.rha_core.spool.recover``,
``rha.rha_capture.sync``, ``rha.rha_ffi.panic``. They are children of the
``rha`` logger, so configuring that one configures them all.

The library only passes on messages at or above a level, fixed when it is
set so that messages nobody wants cost nothing: the effective level of the
``rha`` logger at import (``WARNING`` under a default configuration). Call
:func:`set_log_level` to change it, or with no argument to pick up a level
configured on the ``rha`` logger (or the root logger) after import::

    import logging
    import rha

    logging.basicConfig(level=logging.DEBUG)
    rha.set_log_level()                  # or rha.set_log_level(logging.DEBUG)

Messages may come from any thread the library runs, its helper threads
included; the callback takes the GIL for each one. It never raises into
the library: a failure while logging is dropped.
"""

from __future__ import annotations

import atexit
import logging
from typing import Any, Optional, Union

from ._errors import LogSubscriberExistsError, call
from ._native import ffi, lib

__all__ = ["set_log_level"]

LOGGER = logging.getLogger("rha")

# rha_log_level -> logging level. TRACE is below DEBUG, as in many libraries.
TRACE = 5
_TO_LOGGING = {
    lib.RHA_LOG_ERROR: logging.ERROR,
    lib.RHA_LOG_WARN: logging.WARNING,
    lib.RHA_LOG_INFO: logging.INFO,
    lib.RHA_LOG_DEBUG: logging.DEBUG,
    lib.RHA_LOG_TRACE: TRACE,
}


def _rha_level(level: int) -> int:
    """The most verbose ``rha_log_level`` a logger at ``level`` wants."""
    if level <= TRACE:
        return int(lib.RHA_LOG_TRACE)
    if level <= logging.DEBUG:
        return int(lib.RHA_LOG_DEBUG)
    if level <= logging.INFO:
        return int(lib.RHA_LOG_INFO)
    if level <= logging.WARNING:
        return int(lib.RHA_LOG_WARN)
    return int(lib.RHA_LOG_ERROR)


def _on_log(_userdata: Any, level: int, target: Any, target_len: int, message: Any, message_len: int) -> None:
    try:
        name = bytes(ffi.unpack(target, target_len)).decode("utf-8", "replace")
        logger = logging.getLogger("rha." + name.replace("::", "."))
        py_level = _TO_LOGGING.get(level, logging.ERROR)
        if logger.isEnabledFor(py_level):
            text = bytes(ffi.unpack(message, message_len)).decode("utf-8", "replace")
            logger.log(py_level, "%s", text)
    except BaseException:  # noqa: BLE001 - nothing may unwind into C
        pass


# Kept for the life of the process: the library may call it at any time.
_CALLBACK = ffi.callback("rha_log_fn", _on_log)


def set_log_level(level: Union[int, str, None] = None) -> None:
    """Sets the level of the ``rha`` logger and of what the library sends it.

    ``level`` is a :mod:`logging` level (``logging.DEBUG``, ``"INFO"``, ...;
    5 or below includes the library's trace messages). Without it, the
    library is told the ``rha`` logger's current effective level, for
    example after ``logging.basicConfig(level=logging.DEBUG)``.

    Raises :class:`LogSubscriberExistsError` if the process already has a
    global Rust ``tracing`` subscriber, which then receives the messages.
    """
    if level is not None:
        LOGGER.setLevel(level)
    call(lib.rha_log_set_callback, _CALLBACK, ffi.NULL, _rha_level(LOGGER.getEffectiveLevel()))


def _clear() -> None:
    """Unregisters the callback: none may run once the interpreter is gone."""
    try:
        call(lib.rha_log_set_callback, ffi.NULL, ffi.NULL, 0)
    except Exception:  # noqa: BLE001 - at exit, nothing to report it to
        pass


def _install() -> Optional[LogSubscriberExistsError]:
    """Registers the callback at import; a host's own subscriber wins."""
    try:
        set_log_level()
    except LogSubscriberExistsError as e:
        return e
    atexit.register(_clear)
    return None


_INSTALL_ERROR = _install()
