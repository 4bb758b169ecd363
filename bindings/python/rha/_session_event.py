"""The base class of what a :class:`rha.Session` reports, shared by the
session's events (``_session``) and a sync's messages (``_session_sync``)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SessionEvent"]


@dataclass(frozen=True)
class SessionEvent:
    """Something a :class:`Session` reports: :class:`Connected`,
    :class:`JournalFrames`, :class:`Acked`, :class:`ControlRequest`,
    :class:`Silent`, :class:`Closed`, and a sync's :class:`SyncRequest` and
    :class:`SyncReply` messages."""
