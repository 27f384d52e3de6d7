"""Where the chapters are, wherever kubelab is installed.

The notebooks are the workbook's source and live in the repository's `notebooks/` folder,
beside the `kubelab` package. They are found, in this order:

1. `KUBELAB_NOTEBOOKS`, a folder holding the chapters (e.g. a copy made for a class);
2. `notebooks/` beside the installed package: a checkout installed with `pip install -e`;
3. `notebooks/` in the current directory: a checkout whose package was installed
   another way (`pip install .`, a wheel).

Anything else is an error that says where kubelab looked and what to clone.
"""
from __future__ import annotations

import os
from pathlib import Path

from kubelab._base.errors import KubelabError, UsageError
from kubelab._base.i18n import tr

START = "00-start-here.ipynb"
PACKAGE = Path(__file__).resolve().parent.parent   # the kubelab package


def _holds_chapters(folder: Path) -> bool:
    return (folder / START).is_file()


def candidates() -> list[Path]:
    """The folders looked in, first match wins."""
    found = []
    explicit = os.environ.get("KUBELAB_NOTEBOOKS")
    if explicit:
        return [Path(explicit).expanduser()]
    found.append(PACKAGE.parent / "notebooks")
    found.append(Path.cwd() / "notebooks")
    return found


def source_url() -> str:
    """The repository kubelab was installed from, if its metadata names one."""
    import importlib.metadata
    try:
        meta = importlib.metadata.metadata("kubelab")
    except importlib.metadata.PackageNotFoundError:
        return ""
    for entry in meta.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip().lower() in ("source", "repository", "homepage") and url.strip():
            return url.strip()
    return meta.get("Home-page") or ""


def notebooks_dir() -> Path:
    """The folder holding the English chapters (the Korean ones are in its `ko/`)."""
    looked = candidates()
    for folder in looked:
        if _holds_chapters(folder):
            return folder.resolve()
    url = source_url() or tr("the kubelab repository")
    raise KubelabError(
        tr("the chapters were not found: kubelab is installed at {package}, and no "
           "{start} is in {folders}.", package=PACKAGE,
           start=START, folders=", ".join(str(f) for f in looked)),
        tr("clone {url} and install it from the checkout (`pip install -e \".[lab]\"` "
           "inside it), or set KUBELAB_NOTEBOOKS to a folder holding the chapters.",
           url=url))


def edition(lang: str = "en") -> Path:
    """The folder of the edition in `lang` ('en': the English chapters, 'ko': ko/)."""
    root = notebooks_dir()
    return root if lang == "en" else root / lang


def chapter(name: str, lang: str = "en") -> Path:
    """A chapter's notebook by name ('05a-pods-replicasets' or its file name)."""
    path = edition(lang) / (name if name.endswith(".ipynb") else f"{name}.ipynb")
    if not path.is_file():
        names = sorted(p.stem for p in edition(lang).glob("*.ipynb"))
        raise UsageError(tr("there is no chapter {name!r} in {folder}.", name=name,
                            folder=path.parent),
                         tr("use one of: {names}.", names=", ".join(names)))
    return path
