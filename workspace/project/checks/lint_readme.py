"""The project's docs lint: README.md names every public function of the project's modules
(as `name(`)."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
readme = (ROOT / "README.md").read_text(encoding="utf-8")
missing = []
for module in sorted(ROOT.glob("*.py")):
    for node in ast.parse(module.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            if f"{node.name}(" not in readme:
                missing.append(f"{module.stem}.{node.name}")
if missing:
    sys.exit("README.md does not document: " + ", ".join(missing))
print("readme: ok")
