"""tools/i18n.py, a tool of the checkout (not in the wheel), loaded as a module for the
tests that read the catalogues and the chapters' code as it builds them."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load_tool(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module              # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


catalog = sys.modules.get("kubelab_i18n_tool") or _load_tool("kubelab_i18n_tool",
                                                             ROOT / "tools" / "i18n.py")
