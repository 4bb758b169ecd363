#!/usr/bin/env python3
"""Checks README.md's capability map against the tree, the C header and the
Python package.

Every Rust module named in the map exists; every C prefix names something in
include/rha.h, and every function the header declares falls under some
row's prefix; every Python name exists in the installed package; every spec
document exists, and every document under docs/ is named by a row. Run by tests/readme.sh with the package's virtual
environment; `python3 tests/capability-map.py --no-python` skips the
package.
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATE_DIRS = {"rha_core": "rha-core", "rha_capture": "rha-capture"}


def table():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    m = re.search(r"<!-- capability-map:start -->\n(.*?)<!-- capability-map:end -->", text, re.S)
    if not m:
        sys.exit("capability-map: README.md has no capability map")
    rows = []
    for line in m.group(1).splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 6:
            sys.exit(f"capability-map: row with {len(cells)} cells, expected 6: {line}")
        rows.append([re.findall(r"`([^`]+)`", c) for c in cells])
    if not rows:
        sys.exit("capability-map: the map is empty")
    return rows


def rust_module_exists(path):
    parts = path.split("::")
    crate = CRATE_DIRS.get(parts[0])
    if crate is None:
        return False
    if len(parts) == 1:
        return True
    base = os.path.join(ROOT, crate, "src", *parts[1:])
    if os.path.exists(base + ".rs") or os.path.exists(os.path.join(base, "mod.rs")):
        return True
    # An item (such as rha_core::Error) defined in its parent module.
    parent = os.path.join(ROOT, crate, "src", *parts[1:-1])
    for f in (parent + ".rs", os.path.join(parent, "mod.rs"), os.path.join(parent, "lib.rs")):
        if os.path.exists(f) and re.search(rf"\b(enum|struct|mod|trait|fn) {parts[-1]}\b", open(f).read()):
            return True
    return False


def main():
    check_python = "--no-python" not in sys.argv
    rows = table()
    header = open(os.path.join(ROOT, "include", "rha.h"), encoding="utf-8").read()
    functions = set(re.findall(r"^\S.*?\b(rha_\w+)\(", header, re.M))
    problems = []
    prefixes = []
    names = []
    for _what, rust, c, python, spec, _errors in rows:
        for module in rust:
            if not rust_module_exists(module):
                problems.append(f"Rust module {module} does not exist")
        for prefix in c:
            prefixes.append(prefix)
            if not re.search(r"\b" + re.escape(prefix), header):
                problems.append(f"C prefix {prefix} names nothing in include/rha.h")
        for doc in spec:
            if not os.path.exists(os.path.join(ROOT, doc)):
                problems.append(f"spec {doc} does not exist")
        names.extend(python)
    named_docs = {d for row in rows for d in row[4]}
    for doc in sorted(os.listdir(os.path.join(ROOT, "docs"))):
        if doc.endswith(".md") and doc != "README.md" and f"docs/{doc}" not in named_docs:
            problems.append(f"docs/{doc} is named by no row of the map")
    uncovered = sorted(f for f in functions if not any(f.startswith(p) for p in prefixes))
    for f in uncovered:
        problems.append(f"C function {f} falls under no row of the map")
    if check_python:
        import rha  # noqa: E402  (the package under test)

        for name in names:
            obj = rha
            for part in name.split(".")[1:]:
                obj = getattr(obj, part, None)
            if obj is None:
                problems.append(f"Python name {name} does not exist")
    for p in problems:
        print(f"capability-map: {p}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"capability-map: {len(rows)} rows, {len(functions)} C functions covered, "
          f"{len(names)} Python names found")


if __name__ == "__main__":
    main()
