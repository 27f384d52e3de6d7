"""The translation catalogues and the Korean edition, kept in step with the English source.

    python tools/i18n.py update     # English changed: add new msgids to every .po
                                    # (a changed string keeps its old translation,
                                    # marked fuzzy, until a translator checks it)
    python tools/i18n.py generate   # compile the .mo files, write notebooks/ko/*.ipynb
    python tools/i18n.py status     # what is untranslated or fuzzy

A tool of the checkout, not of the wheel: it reads the English chapters in notebooks/ and
kubelab's source, and writes kubelab/_base/locale/ and notebooks/ko/. Run it from a
checkout whose kubelab is installed (`pip install -e .`); tests/test_i18n.py loads it
from here.

What is an entry:
- each markdown cell of an English chapter (msgid: the whole cell);
- each string a chapter's code cell hands to kubelab: the description and hint of
  `lab.check` and `lab.exercise` (whose first argument, the exercise id, is not text),
  the reason of `lab.skip_unless`, the text of `lab.say`
  (an f-string becomes a template with context `fstring`);
- each kubelab message marked `tr("...")` or `N_("...")` in kubelab's own modules.

Needs polib and nbformat (the `test` extra).
"""
from __future__ import annotations

import ast
import copy
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polib

ROOT = Path(__file__).resolve().parents[1]          # the repository: tools/..
if str(ROOT) not in sys.path:                       # this checkout's kubelab, installed
    sys.path.insert(0, str(ROOT))                   # or not

from kubelab._base.i18n import DOMAIN, FSTRING, LOCALE_DIR  # noqa: E402
NOTEBOOKS = ROOT / "notebooks"
PACKAGE = ROOT / "kubelab"
TARGET_LANGS = ("ko",)
# Every module of kubelab is scanned, the backends' included; only i18n itself is not.
SKIP_MODULES = ("i18n",)
LAB_CALLS = {"check": ("description", "hint"), "exercise": ("description", "hint"),
             "skip_unless": ("reason",), "say": ("text",)}
LANG_LINE = re.compile(r'^lang = "[^"]*"', re.M)


@dataclass
class Message:
    msgid: str
    msgctxt: str | None = None
    occurrences: list[tuple[str, str]] = field(default_factory=list)
    comment: str = ""

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)


# ------------------------------------------------------------------ extraction
def english_notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def _string(node: ast.AST) -> tuple[str, bool] | None:
    """A string literal as (text, is_template); None for anything computed."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value, False
    if isinstance(node, ast.JoinedStr):
        out, fields = "", 0
        for v in node.values:
            if isinstance(v, ast.Constant):
                out += v.value.replace("{", "{{").replace("}", "}}")
            elif isinstance(v, ast.FormattedValue):
                expr = ast.unparse(v.value)
                conv = f"!{chr(v.conversion)}" if v.conversion != -1 else ""
                spec = ""
                if v.format_spec is not None:
                    spec = ":" + "".join(c.value for c in v.format_spec.values
                                         if isinstance(c, ast.Constant))
                out += "{" + expr + conv + spec + "}"
                fields += 1
        return (out, True) if fields else (out.replace("{{", "{").replace("}}", "}"), False)
    return None


def _python_source(cell_source: str) -> str | None:
    if cell_source.lstrip().startswith("%%"):
        return None                     # a cell magic: YAML or shell, not Python
    from IPython.core.inputtransformer2 import TransformerManager
    return TransformerManager().transform_cell(cell_source)


def code_strings(source: str) -> list[tuple[str, bool, str]]:
    """(text, is_template, role) of every string a code cell hands to kubelab."""
    python = _python_source(source)
    if python is None:
        return []
    found = []
    for node in ast.walk(ast.parse(python)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "lab"
                and node.func.attr in LAB_CALLS):
            continue
        name = node.func.attr
        args: list[tuple[ast.AST, str]] = []
        if name in ("check", "exercise"):
            # check(description, condition, hint); exercise(id, description, condition, hint)
            first = 1 if name == "exercise" else 0
            if len(node.args) > first:
                args.append((node.args[first], "description"))
            if len(node.args) > first + 2:
                args.append((node.args[first + 2], "hint"))
            args += [(k.value, "hint") for k in node.keywords if k.arg == "hint"]
        elif name == "skip_unless" and len(node.args) > 1:
            args.append((node.args[1], "skip reason"))
        elif name == "say":
            for arg in node.args:      # every literal, also inside `x or "..."`
                operands = arg.values if isinstance(arg, ast.BoolOp) else \
                    [arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]
                args += [(o, "said") for o in operands]
        for arg, role in args:
            s = _string(arg)
            if s is not None:
                found.append((s[0], s[1], f"{name}: {role}"))
    return sorted(found, key=lambda f: source.find(f[0][:20]))


def chapter_messages(path: Path) -> list[Message]:
    import nbformat
    nb = nbformat.read(path, as_version=4)
    where = f"notebooks/{path.name}"
    messages: dict[tuple, Message] = {}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found = [(cell.source, False, "markdown cell")]
        elif cell.cell_type == "code":
            found = code_strings(cell.source)
        else:
            continue
        for text, template, role in found:
            msg = Message(text, FSTRING if template else None, comment=role)
            msg = messages.setdefault(msg.key, msg)
            msg.occurrences.append((where, cell.get("id", "")))
    return list(messages.values())


def kubelab_messages() -> list[Message]:
    messages: dict[tuple, Message] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if SKIP_MODULES[0] in rel.parts:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("tr", "N_") and node.args):
                s = _string(node.args[0])
                if s is None:
                    continue        # tr(variable): its values are marked with N_()
                if s[1]:
                    raise ValueError(f"kubelab/{rel}:{node.lineno}: tr() takes a plain "
                                     "string literal with {named} fields, not an f-string")
                msg = Message(s[0])
                msg = messages.setdefault(msg.key, msg)
                msg.occurrences.append((f"kubelab/{rel}", str(node.lineno)))
    for msg in messages.values():
        msg.occurrences.sort(key=lambda o: (o[0], int(o[1])))
    return sorted(messages.values(), key=lambda m: (m.occurrences[0][0],
                                                     int(m.occurrences[0][1])))


def domains() -> dict[str, list[Message]]:
    """Every catalogue and what it must hold, from the English source as it is now."""
    out = {DOMAIN: kubelab_messages()}
    for path in english_notebooks():
        out[path.stem] = chapter_messages(path)
    return out


def po_path(domain: str, lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"


# ------------------------------------------------------------------ catalogues
def _header(domain: str, lang: str) -> dict[str, str]:
    return {"Project-Id-Version": f"kubelab {domain}", "Language": lang,
            "MIME-Version": "1.0", "Content-Type": "text/plain; charset=UTF-8",
            "Content-Transfer-Encoding": "8bit", "Plural-Forms": "nplurals=1; plural=0;"}


def update(lang: str, domain: str, wanted: list[Message]) -> polib.POFile:
    """The catalogue for `domain` holding exactly `wanted`: kept translations stay; a
    changed string takes the old translation of the same cell (or place), marked fuzzy."""
    import polib
    path = po_path(domain, lang)
    old = polib.pofile(str(path)) if path.exists() else polib.POFile()
    by_key = {(e.msgctxt, e.msgid): e for e in old if not e.obsolete}
    wanted_keys = {m.key for m in wanted}
    leftovers = [e for k, e in by_key.items() if k not in wanted_keys]
    po = polib.POFile(wrapwidth=0)
    po.metadata = _header(domain, lang)
    for m in wanted:
        entry = by_key.get(m.key)
        if entry is None:
            entry = polib.POEntry(msgid=m.msgid, msgctxt=m.msgctxt, msgstr="")
            spot = next((e for e in leftovers if _places(e.occurrences) &
                         _places(m.occurrences) and e.comment == m.comment), None)
            if spot is not None and spot.msgstr:
                leftovers.remove(spot)
                entry.msgstr = spot.msgstr
                entry.flags = ["fuzzy"]
                entry.previous_msgid = spot.msgid
        entry.occurrences = list(m.occurrences)
        entry.comment = m.comment
        po.append(entry)
    return po


def _places(occurrences: list[tuple[str, str]]) -> set[str]:
    """'file:cell' as polib reads it back (it splits off only a numeric line)."""
    return {f"{where}:{at}" if at else where for where, at in occurrences}


def problems(po, wanted: list[Message]) -> list[str]:  # noqa: ANN001
    """What keeps a catalogue from being current: a msgid missing, untranslated, fuzzy;
    a template whose translation lost or invented a field; a marker changed."""
    entries = {(e.msgctxt, e.msgid): e for e in po if not e.obsolete}
    out = []
    for m in wanted:
        e = entries.get(m.key)
        label = m.msgid[:70].replace("\n", " ")
        if e is None:
            out.append(f"missing: {label!r}")
        elif not e.msgstr.strip():
            out.append(f"untranslated: {label!r}")
        elif "fuzzy" in e.flags:
            out.append(f"fuzzy (English changed): {label!r}")
        else:
            out += [f"{what}: {label!r}" for what in _entry_faults(e)]
    return out


MARKERS = ("⏭ skipped", "✓ ", "✗ ")


def _entry_faults(e) -> list[str]:  # noqa: ANN001
    from kubelab._base.i18n import template_fields
    faults = []
    if e.msgctxt == FSTRING and sorted(set(template_fields(e.msgid))) != sorted(
            set(template_fields(e.msgstr))):
        faults.append("template fields differ")
    if e.msgctxt != FSTRING and e.comment != "markdown cell":
        fields = set(re.findall(r"\{(\w+)[^{}]*\}", e.msgid))
        if fields != set(re.findall(r"\{(\w+)[^{}]*\}", e.msgstr)):
            faults.append("format fields differ")
    for marker in MARKERS:
        if e.msgid.startswith(marker) != e.msgstr.startswith(marker) or \
                (marker in e.msgstr) and marker not in e.msgid:
            faults.append(f"marker {marker.strip()!r} not kept")
    return faults


def mo_bytes(po) -> bytes:  # noqa: ANN001
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "x.mo"
        po.save_as_mofile(str(out))
        return out.read_bytes()


# ------------------------------------------------------------------ the Korean edition
def translated_notebook(path: Path, lang: str) -> str:
    """The text of the `lang` edition of an English chapter: markdown cells from the
    catalogue, code cells unchanged except `lang = "<lang>"` in the parameters cell."""
    import nbformat
    import polib
    nb = nbformat.read(path, as_version=4)
    po = polib.pofile(str(po_path(path.stem, lang)))
    table = {e.msgid: e.msgstr for e in po
             if e.msgctxt is None and e.msgstr and "fuzzy" not in e.flags}
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.cell_type == "markdown":
            if cell.source not in table:
                raise LookupError(f"{path.name} cell {cell.get('id')}: no current "
                                  f"translation ({lang})")
            cell.source = table[cell.source]
        elif "parameters" in cell.metadata.get("tags", []):
            cell.source = set_lang(cell.source, lang)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nbformat.writes(out) + "\n"


def set_lang(parameters: str, lang: str) -> str:
    if not LANG_LINE.search(parameters):
        raise ValueError("the parameters cell has no `lang = \"...\"` line")
    return LANG_LINE.sub(f'lang = "{lang}"', parameters, count=1)


def edition_dir(lang: str) -> Path:
    return NOTEBOOKS / lang


# ------------------------------------------------------------------ commands
def cmd_update() -> int:
    for lang in TARGET_LANGS:
        for domain, wanted in domains().items():
            po = update(lang, domain, wanted)
            path = po_path(domain, lang)
            path.parent.mkdir(parents=True, exist_ok=True)
            po.save(str(path))
            print(f"{path.relative_to(ROOT)}: {len(po)} entries, "
                  f"{len(problems(po, wanted))} to translate or check")
    return 0


def cmd_status() -> int:
    import polib
    bad = 0
    for lang in TARGET_LANGS:
        for domain, wanted in domains().items():
            path = po_path(domain, lang)
            found = problems(polib.pofile(str(path)), wanted) if path.exists() else \
                ["no catalogue (run update)"]
            bad += len(found)
            for f in found:
                print(f"{path.relative_to(ROOT)}: {f}")
    print(f"{bad} problems")
    return 1 if bad else 0


def cmd_generate() -> int:
    import polib
    for lang in TARGET_LANGS:
        for domain in domains():
            po = polib.pofile(str(po_path(domain, lang)))
            po_path(domain, lang).with_suffix(".mo").write_bytes(mo_bytes(po))
        edition_dir(lang).mkdir(exist_ok=True)
        for path in english_notebooks():
            (edition_dir(lang) / path.name).write_text(translated_notebook(path, lang),
                                                     encoding="utf-8")
            print(f"notebooks/{lang}/{path.name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python tools/i18n.py")
    p.add_argument("command", choices=["update", "generate", "status"])
    args = p.parse_args(argv)
    return {"update": cmd_update, "generate": cmd_generate, "status": cmd_status}[
        args.command]()


if __name__ == "__main__":
    sys.exit(main())
