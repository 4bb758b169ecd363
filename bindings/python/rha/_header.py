"""Turning the generated C header ``rha.h`` into declarations cffi can parse.

cffi's ``cdef`` understands plain C declarations and ``#define NAME <integer>``,
but not the rest of the preprocessor. cbindgen's output uses a little of it:
an include guard, ``#include`` lines, ``extern "C"`` and ``enum X : T`` behind
``#ifdef __cplusplus``, version macros defined by arithmetic on other macros,
possibly attribute macros. This module runs a small C preprocessor over the
header (C, not C++: ``__cplusplus`` is undefined), evaluates integer macros to
literals, and drops what cffi can't take.
"""

from __future__ import annotations

import ast
import operator
import re
from typing import Callable, Dict, List, Optional, Tuple

__all__ = ["HeaderError", "to_cdef"]


class HeaderError(Exception):
    """The header uses a construct this translator does not handle."""


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIRECTIVE = re.compile(r"\s*#\s*([A-Za-z_]*)\s*(.*)$")
_DEFINE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\([^)]*\))?\s*(.*)$")
_STATIC_CONST = re.compile(
    r"\bstatic\s+const\s+[A-Za-z_][A-Za-z0-9_\s]*?\s+([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([^;]+);"
)
_INT_LITERAL = re.compile(r"\b(0[xX][0-9a-fA-F]+|[0-9]+)[uUlL]*\b")
_INT_CAST = re.compile(
    r"\(\s*(?:const\s+)?(?:u?int(?:8|16|32|64)_t|size_t|uintptr_t|intptr_t|"
    r"(?:unsigned|signed|long|int|short|char|\s)+)\s*\)"
)
_EXTERN_C_OPEN = re.compile(r'extern\s+"C"\s*\{')
_EXTERN_C = re.compile(r'extern\s+"C"\s*')


def to_cdef(header: str) -> Tuple[str, Dict[str, int]]:
    """Translates the text of ``rha.h`` for ``FFI.cdef``.

    Returns the declarations (with every integer macro as
    ``#define NAME <literal>``) and the integer macros by name.

    Raises:
        HeaderError: for ``#error`` in an active branch or an ``#if``
            expression that is not an integer constant expression.
    """
    text = _join_continuations(_strip_comments(header))
    macros: Dict[str, Optional[str]] = {}  # every defined name -> replacement text
    functions: Dict[str, Tuple[List[str], str]] = {}  # function-like: parameters, body
    ints: Dict[str, int] = {}
    decls: List[str] = []
    # One entry per open conditional: (this branch active, some branch taken, parent active).
    stack: List[Tuple[bool, bool, bool]] = []
    active = True

    for line in text.split("\n"):
        m = _DIRECTIVE.match(line)
        if not m:
            if active:
                decls.append(line)
            continue
        name, rest = m.group(1), m.group(2).strip()
        if name in ("ifdef", "ifndef"):
            cond = (rest.split()[0] in macros) == (name == "ifdef") if rest else False
            stack.append((active and cond, cond, active))
        elif name == "if":
            cond = active and _eval_condition(rest, macros, ints)
            stack.append((cond, cond, active))
        elif name in ("elif", "else", "endif"):
            if not stack:
                raise HeaderError(f"#{name} without #if")
            _, taken, parent = stack.pop()
            if name == "elif":
                cond = not taken and parent and _eval_condition(rest, macros, ints)
                stack.append((cond, taken or cond, parent))
            elif name == "else":
                stack.append((parent and not taken, True, parent))
        elif not active:
            pass
        elif name == "define":
            _define(rest, macros, ints, functions)
        elif name == "undef":
            macros.pop(rest, None)
            ints.pop(rest, None)
            functions.pop(rest, None)
        elif name == "error":
            raise HeaderError(f"#error {rest}")
        # #include, #pragma, #warning, #line and the null directive: nothing to declare.
        active = stack[-1][0] if stack else True

    if stack:
        raise HeaderError("unterminated #if")
    body = _substitute("\n".join(decls), macros, ints)
    body = _expand_functions(body, functions)
    body = _STATIC_CONST.sub(lambda m: _static_const(m, ints), body)
    body = _drop_extern_c(body)
    body = _drop_attributes(body)
    cdef = "\n".join(f"#define {k} {v}" for k, v in ints.items()) + "\n" + body
    return cdef, dict(ints)


def _strip_comments(src: str) -> str:
    """Removes ``//`` and ``/* */`` comments, keeping line breaks and string literals."""
    out: List[str] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c in "\"'":
            j = i + 1
            while j < n and src[j] != c and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            out.append(src[i : j + 1])
            i = j + 1
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(" " + "\n" * src.count("\n", i, j))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _join_continuations(text: str) -> str:
    return re.sub(r"\\\n", " ", text)


def _define(
    rest: str,
    macros: Dict[str, Optional[str]],
    ints: Dict[str, int],
    functions: Dict[str, Tuple[List[str], str]],
) -> None:
    m = _DEFINE.match(rest)
    if not m:
        raise HeaderError(f"malformed #define {rest}")
    name, params, value = m.group(1), m.group(2), m.group(3).strip()
    if params is not None:
        # Function-like (an attribute macro such as RHA_DEPRECATED(note)):
        # expanded where declarations use it.
        macros[name] = None
        names = [p.strip() for p in params[1:-1].split(",") if p.strip()]
        functions[name] = (names, value)
        return
    macros[name] = value
    number = _eval_int(value, ints) if value else None
    if number is not None:
        ints[name] = number


def _eval_condition(expr: str, macros: Dict[str, Optional[str]], ints: Dict[str, int]) -> bool:
    expr = re.sub(
        r"\bdefined\s*(?:\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)|([A-Za-z_][A-Za-z0-9_]*))",
        lambda m: "1" if (m.group(1) or m.group(2)) in macros else "0",
        expr,
    )
    # In #if, an identifier that is not a macro evaluates to 0.
    value = _eval_int(expr, ints, unknown_is_zero=True)
    if value is None:
        raise HeaderError(f"cannot evaluate #if {expr}")
    return value != 0


def _eval_int(expr: str, ints: Dict[str, int], unknown_is_zero: bool = False) -> Optional[int]:
    """Evaluates a C integer constant expression, or returns None."""
    expr = _INT_CAST.sub(" ", expr)
    expr = _INT_LITERAL.sub(lambda m: str(_c_int(m.group(1))), expr)

    def ident(m: "re.Match[str]") -> str:
        word = m.group(0)
        if word in ints:
            return str(ints[word])
        if unknown_is_zero:
            return "0"
        raise _NotConstant

    try:
        expr = _IDENT.sub(ident, expr)
    except _NotConstant:
        return None
    expr = expr.replace("&&", " and ").replace("||", " or ")
    expr = re.sub(r"!(?!=)", " not ", expr)
    try:
        return _eval_node(ast.parse(expr.strip(), mode="eval").body)
    except (SyntaxError, _NotConstant, ZeroDivisionError):
        return None


class _NotConstant(Exception):
    pass


def _c_int(literal: str) -> int:
    if literal[:2] in ("0x", "0X"):
        return int(literal, 16)
    if literal.startswith("0") and len(literal) > 1:
        return int(literal, 8)
    return int(literal)


def _c_div(a: int, b: int) -> int:
    """C division: truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


_UNARY: Dict[type, Callable[[int], int]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Invert: operator.invert,
    ast.Not: lambda v: int(not v),
}
_BINARY: Dict[type, Callable[[int, int], int]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: _c_div,
    ast.Mod: lambda a, b: a - b * _c_div(a, b),
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
    ast.BitOr: operator.or_,
    ast.BitAnd: operator.and_,
    ast.BitXor: operator.xor,
}
_COMPARE: Dict[type, Callable[[int, int], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def _eval_node(node: ast.AST) -> int:
    """Evaluates the Python rendering of a C integer expression."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval_node(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_eval_node(node.left), _eval_node(node.right))
    if isinstance(node, ast.BoolOp):
        values = [_eval_node(v) for v in node.values]
        return int(all(values) if isinstance(node.op, ast.And) else any(values))
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
        compare = _COMPARE[type(node.ops[0])]
        return int(compare(_eval_node(node.left), _eval_node(node.comparators[0])))
    raise _NotConstant


def _substitute(body: str, macros: Dict[str, Optional[str]], ints: Dict[str, int]) -> str:
    """Expands object-like macros that are not integers (attribute macros and the like)."""
    textual = {k: v for k, v in macros.items() if v is not None and k not in ints}
    if not textual:
        return body
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, textual)) + r")\b")
    for _ in range(16):  # nested macros; the bound stops self-reference
        new = pattern.sub(lambda m: textual[m.group(1)] or "", body)
        if new == body:
            break
        body = new
    return body


def _expand_functions(body: str, functions: Dict[str, Tuple[List[str], str]]) -> str:
    """Expands each use of a function-like macro, ``NAME(args)``, by its body."""
    for name, (params, replacement) in functions.items():
        pattern = re.compile(r"\b" + re.escape(name) + r"\s*\(")
        while True:
            m = pattern.search(body)
            if not m:
                break
            close = _matching_paren(body, m.end() - 1)
            args = _split_args(body[m.end() : close])
            text = replacement
            for param, arg in zip(params, args):
                text = re.sub(r"\b" + re.escape(param) + r"\b", lambda _: arg, text)
            body = body[: m.start()] + text + body[close + 1 :]
    return body


def _split_args(text: str) -> List[str]:
    """Splits macro arguments at the commas outside parentheses and string literals."""
    args: List[str] = []
    depth, start, quote = 0, 0, ""
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            args.append(text[start:i].strip())
            start = i + 1
        i += 1
    args.append(text[start:].strip())
    return args


def _static_const(m: "re.Match[str]", ints: Dict[str, int]) -> str:
    # cffi in ABI mode cannot read a static const from the library: make it a macro.
    value = _eval_int(m.group(2), ints)
    if value is None:
        return m.group(0)
    ints[m.group(1)] = value
    return ""


def _drop_extern_c(body: str) -> str:
    """Removes ``extern "C" {`` and its closing brace, should they be unguarded."""
    m = _EXTERN_C_OPEN.search(body)
    if m:
        close = _matching_brace(body, m.end() - 1)
        body = body[: m.start()] + body[m.end() : close] + body[close + 1 :]
    return _EXTERN_C.sub("", body)


def _matching_brace(text: str, open_at: int) -> int:
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    raise HeaderError('unbalanced braces after extern "C"')


def _drop_attributes(body: str) -> str:
    """Removes ``__attribute__((...))``, ``__declspec(...)`` and ``[[...]]``."""
    for keyword in ("__attribute__", "__declspec"):
        while True:
            start = body.find(keyword)
            if start < 0:
                break
            open_at = body.find("(", start)
            if open_at < 0:
                raise HeaderError(f"{keyword} without arguments")
            body = body[:start] + body[_matching_paren(body, open_at) + 1 :]
    return re.sub(r"\[\[[^\]]*\]\]", "", body)


def _matching_paren(text: str, open_at: int) -> int:
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    raise HeaderError("unbalanced parentheses in an attribute")
