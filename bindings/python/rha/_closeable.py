"""The one place where a Python object owns a C handle, and its thread rules.

cffi releases the GIL during every C call, so two Python threads can be
inside the library on the same handle at once. Most C handles allow one
thread at a time; a few (a spool, an immutable signature or plan) allow
concurrent calls but never a call racing their release. :class:`Closeable`
makes both rules structural: a class that owns a C handle hands it over
with :meth:`Closeable._own` and reaches it only through
:meth:`Closeable._use`, which

- raises :class:`rha.InvalidStateError` once the handle is closed,
- holds the handle for the caller's thread: other threads wait (for
  ``_concurrent = False`` classes) or run alongside (``True``), and
- keeps :meth:`Closeable.close` (and ``__del__``) from freeing the handle
  until every call that holds it has returned.

So no sequence of calls from any number of threads reaches the library
with a handle another thread is using against its rules, or with a freed
one. :class:`LockedIterator` does the same for iterators that hold a handle
in a generator's frame.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Callable, Dict, Generic, Iterator, Optional, Type, TypeVar

from ._errors import InvalidStateError, code_name
from ._native import lib

_T = TypeVar("_T", bound="Closeable")
_Item = TypeVar("_Item")


def _closed_error(what: str) -> BaseException:
    code = lib.RHA_INVALID_STATE
    return InvalidStateError(code, code_name(code), what)


class Closeable:
    """A C handle owned by a Python object; ``with`` closes it on exit.

    Subclasses call :meth:`_own` once the C call that made the handle
    returns, pass the handle to the library only inside ``with
    self._use() as handle:``, and may override :meth:`_release` (how the
    handle is freed). Calls on one object are serialised (one thread at a
    time, reentrant for the thread holding it) unless the class sets
    ``_concurrent = True`` because the C library allows concurrent calls on
    that handle type; :meth:`close` always waits for calls in flight.
    """

    _what = "handle"
    """What the handle is, for the message when it is used after close."""

    _concurrent = False
    """Whether the library allows calls on this handle from several threads
    at once (its C documentation says "thread-safe")."""

    # Class-level defaults: an object whose constructor failed before
    # `_own` has no handle and closes as a no-op.
    _c_handle: Any = None
    _c_free: Optional[Callable[[Any], Any]] = None
    _c_cond: Optional[threading.Condition] = None
    _c_users: Optional[Dict[int, int]] = None

    def _own(self, handle: Any, free: Callable[[Any], Any]) -> None:
        """Takes ownership of ``handle``, released with ``free(handle)``."""
        self._c_cond = threading.Condition(threading.Lock())
        self._c_users = {}
        self._c_free = free
        self._c_handle = handle

    @contextmanager
    def _use(self) -> Iterator[Any]:
        """Holds the handle for the current thread; yields it.

        Raises:
            InvalidStateError: if the handle is closed (or was never made).
        """
        cond, users = self._c_cond, self._c_users
        if cond is None or users is None:
            raise _closed_error(f"the {self._what} is closed")
        me = threading.get_ident()
        with cond:
            if not self._concurrent:
                # One thread at a time; the thread holding it may re-enter.
                while users and me not in users and self._c_handle is not None:
                    cond.wait()
            handle = self._c_handle
            if handle is None:
                raise _closed_error(f"the {self._what} is closed")
            users[me] = users.get(me, 0) + 1
        try:
            yield handle
        finally:
            with cond:
                depth = users[me] - 1
                if depth:
                    users[me] = depth
                else:
                    del users[me]
                    cond.notify_all()

    def _release(self, handle: Any) -> None:
        """Frees ``handle``; no other call holds it. Subclasses that must do
        more (flush, close a file) override this and call it."""
        free = self._c_free
        if free is not None:
            free(handle)

    def close(self) -> None:
        """Releases the handle; later calls do nothing. Waits for calls on
        it in other threads to return.

        Raises:
            InvalidStateError: if called from inside a call on this same
                object (a callback closing the job that runs it).
        """
        cond, users = self._c_cond, self._c_users
        if cond is None or users is None:
            return
        with cond:
            if threading.get_ident() in users:
                raise _closed_error(f"the {self._what} cannot be closed from inside a call on it")
            while users:
                cond.wait()
            handle, self._c_handle = self._c_handle, None
            cond.notify_all()  # waiters see it closed
        if handle is not None:
            self._release(handle)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called (or the handle was never made)."""
        return self._c_handle is None

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # No call can hold an object being finalised. Errors are dropped: a
        # finaliser has no caller (and at interpreter shutdown modules may be
        # half torn down).
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass


class LockedIterator(Generic[_Item]):
    """An iterator over a generator that holds a C handle in its frame,
    safe to share between threads: :meth:`__next__` and :meth:`close` run
    one thread at a time (a bare generator raises ``ValueError: generator
    already executing`` instead), and closing runs the generator's cleanup,
    which frees the handle."""

    def __init__(self, generator: Iterator[_Item]) -> None:
        self._gen = generator
        self._lock = threading.RLock()

    def __iter__(self) -> "LockedIterator[_Item]":
        return self

    def __next__(self) -> _Item:
        with self._lock:
            return next(self._gen)

    def close(self) -> None:
        """Stops the iteration and releases what it holds."""
        with self._lock:
            close = getattr(self._gen, "close", None)
            if close is not None:
                close()

    def __enter__(self) -> "LockedIterator[_Item]":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
