"""The hand-written stub feblam/_core.pyi lists exactly what the compiled module exports."""

from __future__ import annotations

import ast
from pathlib import Path

from feblam import _core

STUB = Path(__file__).resolve().parent.parent / "feblam" / "_core.pyi"


def stub_names() -> dict[str, set[str]]:
    """Top-level names of the stub, and for classes their public members."""
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    names: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names[node.name] = set()
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = set()
        elif isinstance(node, ast.ClassDef):
            members = set()
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and (
                        not item.name.startswith("_") or item.name == "__init__"):
                    members.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    members.add(item.target.id)
            names[node.name] = members
    return names


def test_stub_and_module_list_the_same_names() -> None:
    stub = stub_names()
    module = {n for n in dir(_core) if not n.startswith("_")}
    assert set(stub) == module


def test_stub_classes_list_the_same_members() -> None:
    for name, members in stub_names().items():
        obj = getattr(_core, name)
        if not isinstance(obj, type):
            continue
        actual = {m for m in dir(obj) if not m.startswith("_")}
        if any(m == "__init__" for m in members):
            members = members - {"__init__"}
        # Enum-like bindings add helper members (name, value); the stub must cover the rest.
        assert members == actual - {"name", "value"}, name
