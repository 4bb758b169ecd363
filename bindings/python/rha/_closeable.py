"""The context-manager protocol shared by every handle-owning class."""

from __future__ import annotations

from types import TracebackType
from typing import Optional, Type, TypeVar

_T = TypeVar("_T", bound="Closeable")


class Closeable:
    """A handle released by :meth:`close`; ``with`` closes it on exit.

    Subclasses implement :meth:`close`, which must be idempotent.
    """

    def close(self) -> None:
        """Releases the handle; later calls do nothing."""
        raise NotImplementedError

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()
