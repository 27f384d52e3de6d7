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
- each comment in a chapter's code cells (context `comment`): a `#` comment of the
  Python, of a `%%apply` cell's YAML, of a `%%bash` cell, or a whole-line comment of a
  `%%kubectl` cell; whole-line comments on consecutive lines at one indentation are one
  entry (their lines joined by newlines). Not a `#` inside a string, a line magic's
  line, a shebang, or a pragma such as `# noqa`. The Korean edition carries the
  translated comment in place of the English one, and nothing else of the code changes;
- each kubelab message marked `tr("...")` or `N_("...")` in kubelab's own modules.

Needs polib and nbformat (the `test` extra).
"""
from __future__ import annotations

import ast
import copy
import io
import re
import sys
import tokenize
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
COMMENT = "comment"          # msgctxt of a code cell's comment


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


# ------------------------------------------------------------------ code comments
@dataclass
class Comment:
    """A comment of a code cell: one end-of-line comment, or a block of whole-line
    comments on consecutive lines at one indentation. `first` and `last` are its lines
    (0-based) in the cell, `column` where its marker (`#` and the spaces after it)
    starts, `text` its words (a block's lines joined by newlines)."""
    first: int
    last: int
    column: int
    marker: str
    text: str
    whole_line: bool

    @property
    def role(self) -> str:
        return "code comment" if self.whole_line else "code comment, end of line"


PRAGMA = re.compile(r"(noqa|type:|pragma|pylint:|fmt:|isort:)")
SHELL_MAGICS = ("bash", "sh")
HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_][\w.-]*)\2")
BLOCK_SCALAR = re.compile(r"(?:^|\s)[|>][0-9+-]*$")


def _python_spots(lines: list[str], start: int) -> list[tuple[int, int]]:
    """(line, column) of each `#` that starts a Python comment: tokenize knows strings.
    A line magic or shell escape (`%kubectl ...`, `!ls`) is IPython's, not Python: its
    `#` belongs to the command, so such lines are read as empty."""
    python = "\n".join("" if n < start or line.lstrip().startswith(("%", "!")) else line
                       for n, line in enumerate(lines))
    try:
        return [(t.start[0] - 1, t.start[1])
                for t in tokenize.generate_tokens(io.StringIO(python).readline)
                if t.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError) as e:
        raise ValueError(f"the cell's Python cannot be read for its comments: {e}") from None


def _yaml_spots(lines: list[str], start: int) -> list[tuple[int, int]]:
    """`#` after a space (or at a line's start), outside quoted scalars and block
    scalars (`key: |`), begins a YAML comment."""
    spots: list[tuple[int, int]] = []
    block: int | None = None        # a block scalar's lines are indented deeper than this
    quote = ""                      # the quote of a scalar running on from a line above
    for n in range(start, len(lines)):
        line = lines[n]
        indent = len(line) - len(line.lstrip(" "))
        if block is not None:
            if not line.strip() or indent > block:
                continue
            block = None
        i, prev, col = 0, " ", None
        while i < len(line):
            c = line[i]
            if quote == "'":
                if c == "'" and line[i + 1:i + 2] == "'":
                    i += 2
                    continue
                if c == "'":
                    quote = ""
            elif quote == '"':
                if c == "\\":
                    i += 2
                    continue
                if c == '"':
                    quote = ""
            elif c == "#" and prev in " \t":
                col = i
                break
            elif c in "'\"" and (not line[:i].strip() or line[:i].rstrip()[-1] in ":-[{,?"):
                quote = c
            prev = c
            i += 1
        if col is not None:
            spots.append((n, col))
        if not quote and BLOCK_SCALAR.search(line[:col].rstrip()):
            block = indent
    return spots


def _shell_spots(lines: list[str], start: int) -> list[tuple[int, int]]:
    """`#` at the start of a word, outside quotes and here-documents, begins a shell
    comment (not `$#`, not `${#var}`)."""
    spots: list[tuple[int, int]] = []
    quote, n = "", start
    while n < len(lines):
        line, i, prev, waiting = lines[n], 0, " ", []
        while i < len(line):
            c = line[i]
            if quote == "'":
                if c == "'":
                    quote = ""
            elif quote == '"':
                if c == "\\":
                    i += 1
                elif c == '"':
                    quote = ""
            elif c == "\\":
                i += 1
            elif c in "'\"":
                quote = c
            elif c == "#" and prev in " \t;&|()<>":
                spots.append((n, i))
                break
            elif line.startswith("<<", i) and not line.startswith("<<<", i):
                found = HEREDOC.match(line, i)
                if found:
                    waiting.append((found.group(3), found.group(1) == "-"))
                    i, prev = found.end(), "x"
                    continue
            prev = c
            i += 1
        n += 1
        for word, tabs in waiting:          # skip each here-document's body
            while n < len(lines) and (lines[n].lstrip("\t") if tabs else lines[n]) != word:
                n += 1
            n += 1
    return spots


def _comment_spots(source: str) -> list[tuple[int, int]]:
    lines = source.split("\n")
    head = next((n for n, line in enumerate(lines) if line.strip()), None)
    if head is None:
        return []
    if not lines[head].lstrip().startswith("%%"):
        return _python_spots(lines, 0)
    magic, *args = lines[head].strip()[2:].split()
    if magic == "apply":
        return _yaml_spots(lines, head + 1)
    if magic in SHELL_MAGICS or (magic == "script" and args[:1] and
                                  Path(args[0]).name in SHELL_MAGICS):
        return _shell_spots(lines, head + 1)
    if magic == "kubectl":                  # whole-line comments only (magics.py)
        return [(n, line.index("#")) for n, line in enumerate(lines)
                if n > head and line.lstrip().startswith("#")]
    return []                               # another cell magic: its text is its own


def code_comments(source: str) -> list[Comment]:
    """The comments of a code cell, in order (see the module's docstring)."""
    lines = source.split("\n")
    found: list[Comment] = []
    for n, col in _comment_spots(source):
        raw = lines[n][col:]
        marker = re.match(r"#+[ \t]*", raw).group(0)
        text = raw[len(marker):].rstrip()
        if not text or raw.startswith("#!") or PRAGMA.match(text):
            continue
        whole = not lines[n][:col].strip()
        last = found[-1] if found else None
        if (whole and last is not None and last.whole_line and last.last == n - 1
                and last.column == col and last.marker == marker):
            last.last, last.text = n, last.text + "\n" + text
            continue
        found.append(Comment(n, n, col, marker, text, whole))
    return found


def translate_comments(source: str, translate) -> str:  # noqa: ANN001
    """`source` with each comment's text replaced by `translate(text)`; the code, and
    each comment's place and marker, stay as they are. A block's translation may take
    more or fewer lines; an end-of-line comment's stays on its line."""
    lines = source.split("\n")
    out: list[str] = []
    done = 0
    for c in code_comments(source):
        out += lines[done:c.first]
        words = translate(c.text).split("\n")
        head = lines[c.first][:c.column]
        if c.whole_line:
            out += [head + c.marker + w if w.strip() else head + c.marker.rstrip()
                    for w in words]
        else:
            out.append(head + c.marker + " ".join(w.strip() for w in words if w.strip()))
        done = c.last + 1
    out += lines[done:]
    return "\n".join(out)


def strip_comments(source: str) -> str:
    """`source` without its comments: whole-line comments go with their lines, an
    end-of-line comment from its marker on. What two editions' code cells must share."""
    lines = source.split("\n")
    gone: set[int] = set()
    cut: dict[int, int] = {}
    for c in code_comments(source):
        if c.whole_line:
            gone.update(range(c.first, c.last + 1))
        else:
            cut[c.first] = c.column
    return "\n".join(line[:cut[n]] if n in cut else line
                     for n, line in enumerate(lines) if n not in gone)


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
            found += [(c.text, COMMENT, c.role) for c in code_comments(cell.source)]
        else:
            continue
        for text, kind, role in found:
            context = COMMENT if kind == COMMENT else FSTRING if kind else None
            msg = Message(text, context, comment=role)
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
    if e.msgctxt == COMMENT and "end of line" in (e.comment or "") and "\n" in e.msgstr:
        faults.append("an end-of-line comment must stay on one line")
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
    catalogue; code cells with their comments from the catalogue, and otherwise
    unchanged except `lang = "<lang>"` in the parameters cell."""
    import nbformat
    import polib
    nb = nbformat.read(path, as_version=4)
    po = polib.pofile(str(po_path(path.stem, lang)))
    current = [e for e in po if e.msgstr and "fuzzy" not in e.flags]
    table = {e.msgid: e.msgstr for e in current if e.msgctxt is None}
    comments = {e.msgid: e.msgstr for e in current if e.msgctxt == COMMENT}
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.cell_type == "markdown":
            if cell.source not in table:
                raise LookupError(f"{path.name} cell {cell.get('id')}: no current "
                                  f"translation ({lang})")
            cell.source = table[cell.source]
        if cell.cell_type == "code":
            def comment(text: str, cell=cell) -> str:  # noqa: ANN001
                if text not in comments:
                    raise LookupError(f"{path.name} cell {cell.get('id')}: comment "
                                      f"{text[:40]!r} has no current translation ({lang})")
                return comments[text]
            cell.source = translate_comments(cell.source, comment)
            if "parameters" in cell.metadata.get("tags", []):
                cell.source = set_lang(cell.source, lang)
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
