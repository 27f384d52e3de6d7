"""`kubelab open --lang ko`: the Korean edition, in a JupyterLab whose menus are Korean.

JupyterLab takes its UI language from the setting `locale` of the plugin
`@jupyterlab/translation-extension:plugin` (the language pack
`jupyterlab-language-pack-ko-kr`, in the `ko` extra, provides the words). kubelab writes
that setting into a settings directory of its own, under kubelab's state directory,
seeded with a copy of the user's own settings, and points JupyterLab at it with
`--LabApp.user_settings_dir`: the user's settings are read, never written.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

UI_LOCALES = {"ko": "ko_KR"}
PACKS = {"ko": "jupyterlab-language-pack-ko-kr"}
TRANSLATION_SETTING = Path("@jupyterlab") / "translation-extension" / \
    "plugin.jupyterlab-settings"


def start_notebook(lang: str, root: Path | None = None) -> Path:
    """The first chapter of the edition in `lang` (of the checkout at `root`, else
    wherever kubelab finds the chapters: kubelab/workbook.py)."""
    from kubelab._session import workbook
    if root is None:
        edition = workbook.edition(lang)
    else:
        edition = root / "notebooks" / lang if lang != "en" else root / "notebooks"
    return edition / workbook.START


def users_settings_dir() -> Path | None:
    if os.environ.get("JUPYTERLAB_SETTINGS_DIR"):
        return Path(os.environ["JUPYTERLAB_SETTINGS_DIR"])
    try:
        from jupyter_core.paths import jupyter_config_dir
    except ImportError:
        return None
    return Path(jupyter_config_dir()) / "lab" / "user-settings"


def settings_dir(lang: str, state: Path | None = None) -> Path:
    """A JupyterLab user-settings directory for `lang`: the user's settings, copied,
    with the UI locale set."""
    from kubelab._system.paths import state_dir
    target = (state or state_dir()) / "jupyterlab-settings" / lang
    if target.exists():
        shutil.rmtree(target)
    own = users_settings_dir()
    if own is not None and own.is_dir() and own.resolve() != target.resolve():
        shutil.copytree(own, target)
    path = target / TRANSLATION_SETTING
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        current = json.loads(path.read_text())
    except (OSError, ValueError):
        current = {}
    current["locale"] = UI_LOCALES[lang]
    path.write_text(json.dumps(current, indent=2) + "\n")
    return target


def lab_command(jupyter: str, lang: str, state: Path | None = None) -> list[str]:
    """The command line that opens the workbook in `lang`."""
    argv = [jupyter, "lab", str(start_notebook(lang))]
    if lang in UI_LOCALES:
        argv.append(f"--LabApp.user_settings_dir={settings_dir(lang, state)}")
    return argv


def missing_pack(lang: str) -> str | None:
    """The language pack to install, if JupyterLab cannot show `lang` yet."""
    if lang not in PACKS:
        return None
    import importlib.metadata
    try:
        importlib.metadata.version(PACKS[lang])
    except importlib.metadata.PackageNotFoundError:
        return PACKS[lang]
    return None
