"""Every result code in the header raises the exception class meant for it.

The codes come from the checkout's header (``typedef enum rha_result`` in
``include/rha.h``; the package's declarations were built from it), so a code added to the library without a place
in ``rha._errors`` fails here rather than raising a bare ``RhaError``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Type

import pytest

import rha
from rha import _errors, _native

HEADER = Path(__file__).resolve().parents[3] / "include" / "rha.h"
STATUSES = {"RHA_OK", "RHA_BLOCKED", "RHA_DONE"}

# Each family's range of codes and class (the header's rha_result comment).
FAMILIES = [
    (100, 200, rha.UsageError),
    (200, 300, rha.RhaIOError),
    (300, 400, rha.JournalError),
    (400, 450, rha.BlockError),
    (450, 500, rha.TreeSignatureError),
    (500, 600, rha.SpoolError),
    (600, 700, rha.RewindError),
    (700, 800, rha.HaError),
    (800, 900, rha.SessionError),
    (900, 1000, rha.AgentError),
]


def header_codes() -> Dict[str, int]:
    """The constants of ``enum rha_result`` in the header, by name."""
    text = HEADER.read_text(encoding="utf-8")
    match = re.search(r"typedef enum rha_result \{(.*?)\} rha_result;", text, re.S)
    assert match, "no `typedef enum rha_result` in the header"
    body = re.sub(r"/\*.*?\*/", "", match.group(1), flags=re.S)
    return {name: int(value) for name, value in re.findall(r"\b(RHA_\w+)\s*=\s*(\d+)", body)}


CODES = header_codes()
ERRORS = {name: code for name, code in CODES.items() if name not in STATUSES}


def family(code: int) -> Type[rha.RhaError]:
    for first, end, cls in FAMILIES:
        if first <= code < end:
            return cls
    raise AssertionError(f"code {code} is in no family")


def test_the_header_has_every_family_and_the_statuses():
    assert STATUSES <= set(CODES)
    assert {family(code) for code in ERRORS.values()} == {cls for _, _, cls in FAMILIES}
    assert len(ERRORS) >= 45


@pytest.mark.parametrize("name", sorted(ERRORS, key=ERRORS.get))
def test_every_error_code_raises_its_own_class(name: str):
    code = ERRORS[name]
    assert getattr(_native.lib, name) == code
    cls = _errors._class_for(code)
    assert cls is not rha.RhaError and cls is _errors._BY_CODE.get(code), "unmapped code"
    assert issubclass(cls, family(code))
    assert f"``{name}``" in (cls.__doc__ or ""), f"{cls.__name__} does not document {name}"
    assert getattr(rha, cls.__name__) is cls, "the class is not exported"
    with pytest.raises(cls) as info:
        _errors.raise_code(code, "made in a test")
    assert (info.value.code, info.value.code_name) == (code, name)


def test_the_table_holds_no_code_the_header_lacks():
    assert set(_errors._BY_CODE) == set(ERRORS.values())


@pytest.mark.parametrize("first,end,cls", FAMILIES, ids=[c.__name__ for _, _, c in FAMILIES])
def test_a_code_added_later_raises_its_family(first: int, end: int, cls: Type[rha.RhaError]):
    for code in (first, end - 1):
        if code not in CODES.values():
            assert _errors._class_for(code) is cls
    unknown = end - 1
    assert unknown not in CODES.values()
    with pytest.raises(cls):
        _errors.raise_code(unknown, "a code from a newer library")


def test_statuses_and_codes_outside_every_family_are_plain():
    assert _errors._class_for(99) is rha.RhaError
    assert _errors._class_for(1000) is rha.RhaError
    for name in STATUSES:
        assert CODES[name] not in _errors._BY_CODE
