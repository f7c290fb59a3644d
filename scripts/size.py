"""Gzip size of each npm entry: what a browser or worker downloads for it.

An entry's size is the sum of its files gzipped one by one at level 9: the
browser loader with every module it imports (scripts/build bundles the JS
layer and wasm-bindgen's glue into it) and the optimised .wasm.
"""
import gzip
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A static relative import or re-export: `from "./x.js"`, `import "./x.js"`.
IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*["\'](\.{1,2}/[^"\']+\.js)["\']""")


def entry_files(pkg, name):
    """The browser loader, every module it imports (followed statically, so
    the figure stays true whether the loader is a bundle or not) and the
    entry's .wasm."""
    files, todo = [], [(pkg / f"{name}.browser.js").resolve()]
    while todo:
        f = todo.pop()
        if f in files or not f.is_file():
            continue
        files.append(f)
        text = f.read_text()
        todo += [(f.parent / m).resolve() for m in IMPORT.findall(text)]
    files += sorted((pkg / "wasm" / name).glob("*.wasm"))
    return files


def gz(path):
    return len(gzip.compress(path.read_bytes(), compresslevel=9, mtime=0))


def report(pkg, entries):
    """Prints a table; returns the names of entries over their budget.

    `budget-gzip-bytes` is the ceiling (the build fails past it when the
    entry says `enforce-budget = true`); `goal-gzip-bytes`, where given, is
    the size an open issue asks for, printed so that every build shows the
    distance to it."""
    over = []
    print(f"{'entry':<10} {'wasm':>9} {'wasm gz':>9} {'js gz':>8} {'total gz':>9} {'budget':>8} {'goal':>8}")
    for entry in entries:
        name = entry["name"]
        files = entry_files(pkg, name)
        if not files:
            continue
        wasm = [f for f in files if f.suffix == ".wasm"]
        raw = sum(f.stat().st_size for f in wasm)
        wasm_gz = sum(gz(f) for f in wasm)
        js_gz = sum(gz(f) for f in files if f.suffix == ".js")
        total = wasm_gz + js_gz
        budget = entry.get("budget-gzip-bytes")
        goal = entry.get("goal-gzip-bytes")
        flag = ""
        if budget and total > budget:
            over.append(name)
            flag = "  OVER"
        elif goal and total > goal:
            flag = f"  {total - goal} B above goal"
        print(f"{name:<10} {raw:>9} {wasm_gz:>9} {js_gz:>8} {total:>9} {budget or '-':>8} {goal or '-':>8}{flag}")
    return over


if __name__ == "__main__":
    with open(ROOT / "wasm-pack.toml", "rb") as f:
        cfg = tomllib.load(f)
    sys.exit(1 if report(ROOT / cfg["package"]["out-dir"], cfg["entry"]) else 0)
