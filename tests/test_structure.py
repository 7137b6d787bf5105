"""The package keeps the shape its layout promises: rooms of readable size, and modules that
reach each other's estimators only through the documented state hook pair."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sktnce"
#: TupleInfoNCEFusion's documented hook pair (sktnce/_fusion.py).
HOOKS = {"_get_state", "_set_state"}


def _trees():
    return {path.stem: ast.parse(path.read_text(encoding="utf-8"))
            for path in sorted(PACKAGE.glob("*.py"))}


def _body_lines(function):
    body = function.body[1:] if ast.get_docstring(function) else function.body
    return body[-1].end_lineno - body[0].lineno + 1 if body else 0


def test_classes_and_functions_stay_readable():
    too_long = []
    for module, tree in _trees().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > 300:
                too_long.append(f"class {module}.{node.name}")
            if isinstance(node, ast.FunctionDef) and _body_lines(node) > 60:
                too_long.append(f"function {module}.{node.name}")
    assert not too_long, f"over 300 lines (class) or 60 (function body): {too_long}"


def test_private_methods_are_called_only_in_their_own_module_or_through_the_hooks():
    trees = _trees()
    owners, methods, subclasses = {}, {}, {}
    for module, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for base in node.bases:
                    subclasses.setdefault(ast.unparse(base), set()).add((node.name, module))
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name.startswith("_") \
                            and not item.name.startswith("__"):
                        owners.setdefault(item.name, set()).add(module)
                        methods.setdefault(node.name, set()).add(item.name)
    # A mixin's private methods belong to the modules of the classes that inherit them,
    # directly or through another mixin.
    for mixin, names in methods.items():
        heirs, found = [mixin], set()
        while heirs:
            for heir, module in subclasses.get(heirs.pop(), set()) - found:
                found.add((heir, module))
                heirs.append(heir)
        for name in names:
            owners[name] |= {module for _, module in found}
    reaching = []
    for module, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name = node.func.attr
                if name in owners and module not in owners[name] and name not in HOOKS:
                    reaching.append(f"{module}: {ast.unparse(node.func)}")
    assert not reaching, f"private methods of other modules' classes called: {reaching}"
