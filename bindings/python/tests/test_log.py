"""The library's diagnostics reach :mod:`logging`, under ``rha.<target>``."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Iterator, List

import pytest

import rha


@pytest.fixture(autouse=True)
def restore_level() -> Iterator[None]:
    yield
    logging.getLogger("rha").setLevel(logging.NOTSET)
    rha.set_log_level()


def torn_spool(path: Path) -> None:
    """A spool of 10 records whose last one was cut short."""
    with rha.Spool(path, min_free_bytes=0) as spool:
        for i in range(10):
            spool.append(rha.Write("f", i, b"\x07" * 50))
    (segment,) = path.glob("seg-*.rhaj")
    os.truncate(segment, segment.stat().st_size - 20)


def test_a_torn_spool_tail_is_a_warning_of_the_spool_recovery_logger(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    torn_spool(tmp_path)
    caplog.set_level(logging.WARNING, logger="rha")
    with rha.Spool(tmp_path, min_free_bytes=0) as spool:
        assert spool.recovery.torn
    warnings = [r for r in caplog.records if "torn tail truncated" in r.getMessage()]
    assert len(warnings) == 1, caplog.text
    (w,) = warnings
    assert w.name == "rha.rha_core.spool.recover"
    assert w.levelno == logging.WARNING
    assert w.getMessage().startswith("torn tail truncated file=seg-00000000000000000001.rhaj ")
    assert "last_good_seq=9" in w.getMessage()


def test_at_info_warnings_carry_their_spans(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    torn_spool(tmp_path)
    caplog.set_level(logging.INFO, logger="rha")
    rha.set_log_level()
    with rha.Spool(tmp_path, min_free_bytes=0):
        pass
    (w,) = [r for r in caplog.records if "torn tail truncated" in r.getMessage()]
    assert w.getMessage().startswith(f"spool_open{{dir={tmp_path}}}:spool_recovery: torn tail truncated ")


def test_debug_spans_arrive_only_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="rha")
    # Python would take debug records of rha_core: whether they come is the
    # library's filter.
    caplog.set_level(logging.DEBUG, logger="rha.rha_core")

    def job_records() -> List[logging.LogRecord]:
        return [r for r in caplog.records if "signature_job{" in r.getMessage()]

    rha.set_log_level(logging.INFO)
    rha.signature(b"x" * 10_000, block_len=1024)
    assert job_records() == []

    rha.set_log_level(logging.DEBUG)
    rha.signature(b"x" * 10_000, block_len=1024)
    (rec,) = job_records()
    assert rec.levelno == logging.DEBUG
    assert rec.name == "rha.rha_core.signature.block.sig"
    assert rec.getMessage() == "signature_job{file_len=10000 block_len=1024}: signature computed bytes=10000"


def test_messages_from_other_threads_arrive(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="rha")
    rha.set_log_level(logging.DEBUG)
    threads = [threading.Thread(target=rha.signature, args=(bytes([i]) * 5000,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done = [r for r in caplog.records if "signature computed bytes=5000" in r.getMessage()]
    assert len(done) == 4


def test_a_failing_logger_never_raises_into_the_library() -> None:
    calls: List[str] = []

    class Boom(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            calls.append(record.getMessage())
            raise RuntimeError("a broken filter")

    logger = logging.getLogger("rha.rha_core.signature.block.sig")
    boom = Boom()
    logger.addFilter(boom)
    try:
        rha.set_log_level(logging.DEBUG)
        sig = rha.signature(b"y" * 4096, block_len=1024)
    finally:
        logger.removeFilter(boom)
    assert calls and "signature computed" in calls[0]
    assert sig == rha.signature(b"y" * 4096, block_len=1024)


def test_set_log_level_follows_the_rha_logger(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="rha.rha_core")
    logging.getLogger("rha").setLevel(logging.ERROR)
    rha.set_log_level()  # the library now sends errors only
    rha.signature(b"z" * 2048, block_len=1024)
    assert not any("signature computed" in r.getMessage() for r in caplog.records)

    rha.set_log_level("DEBUG")
    assert logging.getLogger("rha").level == logging.DEBUG
    rha.signature(b"z" * 2048, block_len=1024)
    assert any("signature computed" in r.getMessage() for r in caplog.records)
