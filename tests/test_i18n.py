"""The Korean edition stays in step with the English source, and kubelab speaks Korean.

Fails when: an English markdown cell, a string a chapter hands to kubelab, or a kubelab
message has no current translation (missing, empty or fuzzy); a committed Korean notebook
differs from what `python tools/i18n.py generate` writes now; a Korean code cell differs
from the English one apart from its comments (translated) and `lang = "ko"` in the
parameters cell; a compiled .mo file is older than its .po. No cluster needed."""
from __future__ import annotations

import gettext
import io
import json
import re
import tomllib
from pathlib import Path

import nbformat
import polib
import pytest

from kubelab._base import i18n
from kubelab._base.errors import CheckFailed
from kubelab._session import features
from kubelab.cli import jupyter_locale as jupyter
from kubelab.lab import Lab

ROOT = Path(__file__).resolve().parent.parent


from i18n_tool import catalog  # noqa: E402
ENGLISH = sorted((ROOT / "notebooks").glob("*.ipynb"))
KOREAN = ROOT / "notebooks" / "ko"
DOMAINS = catalog.domains()
HANGUL = re.compile(r"[가-힣]")
# The notes' own question, which chapter 07's Korean edition opens with, verbatim.
NOTES_QUESTION = ("(의문점)Ingress에다가 NodePort 또는 LoadBalancer를 반드시 함께 사용해야한다는 "
                  "블로그 자료들이 많던데, 막상 실행해보니 ClusterIP Service도 Ingress로 "
                  "외부노출이 가능하다. 팩트가 무엇인가?")


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    i18n.set_language("")


# ------------------------------------------------------------------ catalogues
@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_every_string_has_a_current_translation(domain):
    path = catalog.po_path(domain, "ko")
    assert path.exists(), f"no catalogue {path.name}: run `python tools/i18n.py update`"
    found = catalog.problems(polib.pofile(str(path)), DOMAINS[domain])
    assert not found, ("out of step; run `python tools/i18n.py update`, translate, then "
                       "`python tools/i18n.py generate`:\n" + "\n".join(found))


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_catalogue_holds_nothing_stale(domain):
    """update drops what the English no longer has; a leftover means it was not run."""
    po = polib.pofile(str(catalog.po_path(domain, "ko")))
    wanted = {m.key for m in DOMAINS[domain]}
    stale = [e.msgid[:60] for e in po if (e.msgctxt, e.msgid) not in wanted]
    assert not stale


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_compiled_catalogue_is_current(domain):
    po = polib.pofile(str(catalog.po_path(domain, "ko")))
    mo = catalog.po_path(domain, "ko").with_suffix(".mo")
    assert mo.exists(), "run `python tools/i18n.py generate`"
    fresh = gettext.GNUTranslations(io.BytesIO(catalog.mo_bytes(po)))._catalog
    committed = gettext.GNUTranslations(io.BytesIO(mo.read_bytes()))._catalog
    assert committed == fresh, "run `python tools/i18n.py generate`"


def test_catalogues_ship_with_the_package():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = data["tool"]["setuptools"]["package-data"]["kubelab"]
    assert "_base/locale/*/LC_MESSAGES/*.po" in globs
    assert "_base/locale/*/LC_MESSAGES/*.mo" in globs
    assert i18n.LOCALE_DIR == ROOT / "kubelab" / "_base" / "locale"


def test_the_catalogue_tool_is_not_in_the_package():
    """tools/i18n.py reads the checkout (notebooks/, kubelab's source): not for a wheel."""
    assert not (ROOT / "kubelab" / "_base" / "i18n" / "catalog.py").exists()
    assert not (ROOT / "kubelab" / "_base" / "i18n" / "__main__.py").exists()
    assert catalog.ROOT == ROOT


def test_an_unknown_language_is_a_plain_error_here_and_a_fix_in_a_notebook():
    with pytest.raises(i18n.UnknownLanguage, match="unknown language 'fr'"):
        i18n.set_language("fr")
    from kubelab._base.errors import KubelabError
    from kubelab.lab import open_lab
    with pytest.raises(KubelabError, match="unknown language 'fr'") as raised:
        open_lab("00-start-here", lang="fr")      # refused before any cluster is asked
    assert "lang parameter" in raised.value.fix


# ------------------------------------------------------------------ the Korean notebooks
def test_every_chapter_has_a_korean_edition():
    assert [p.name for p in ENGLISH] == sorted(p.name for p in KOREAN.glob("*.ipynb"))


@pytest.mark.parametrize("english", ENGLISH, ids=lambda p: p.stem)
def test_korean_notebook_is_what_the_generator_writes(english):
    committed = (KOREAN / english.name).read_text(encoding="utf-8")
    assert committed == catalog.translated_notebook(english, "ko"), \
        "run `python tools/i18n.py generate`"


@pytest.mark.parametrize("english", ENGLISH, ids=lambda p: p.stem)
def test_korean_code_cells_are_the_english_ones_but_for_their_comments(english):
    """Once comments are stripped, a Korean code cell is its English one, byte for byte
    (the parameters cell also sets the edition's language); its comments are Korean."""
    en = nbformat.read(english, as_version=4)
    ko = nbformat.read(KOREAN / english.name, as_version=4)
    assert ko.metadata == en.metadata
    assert [(c.cell_type, c.get("id"), c.metadata) for c in ko.cells] == \
        [(c.cell_type, c.get("id"), c.metadata) for c in en.cells]
    for e, k in zip(en.cells, ko.cells):
        if e.cell_type != "code":
            continue
        assert not k.outputs and k.execution_count is None
        english_code = e.source
        if "parameters" in e.metadata.get("tags", []):
            # the one permitted difference in the code: the edition's language
            assert re.search(r'^lang = "[^"]*"', e.source, re.M)
            english_code = re.sub(r'^lang = "[^"]*"', 'lang = "ko"', e.source, count=1,
                                  flags=re.M)
        assert catalog.strip_comments(k.source) == catalog.strip_comments(english_code)
        en_comments = catalog.code_comments(e.source)
        ko_comments = catalog.code_comments(k.source)
        assert [(c.whole_line, c.marker) for c in ko_comments] == \
            [(c.whole_line, c.marker) for c in en_comments], e.get("id")
        assert all(HANGUL.search(c.text) for c in ko_comments), e.get("id")


def test_a_translated_comment_takes_the_english_ones_place():
    en = {c.get("id"): c.source for c in nbformat.read(
        ROOT / "notebooks" / "00-start-here.ipynb", as_version=4).cells}
    ko = {c.get("id"): c.source for c in nbformat.read(
        KOREAN / "00-start-here.ipynb", as_version=4).cells}
    po = polib.pofile(str(catalog.po_path("00-start-here", "ko")))
    placeholder = po.find("your command here, e.g.  %kubectl ...", msgctxt=catalog.COMMENT)
    assert en["c25"] == "# your command here, e.g.  %kubectl ..."
    assert placeholder is not None and HANGUL.search(placeholder.msgstr)
    assert ko["c25"] == "# " + placeholder.msgstr
    # an end-of-line comment: the code before it is the English cell's, to the byte
    english_line = next(line for line in en["c18"].splitlines() if "#" in line)
    korean_line = next(line for line in ko["c18"].splitlines() if "#" in line)
    code = english_line[:english_line.index("#")]
    assert korean_line.startswith(code + "# ") and HANGUL.search(korean_line[len(code):])


def test_what_counts_as_a_comment():
    """`#` in a string, a line magic's `#`, a shebang and a pragma are not comments;
    YAML and shell cells have their own rules (quotes, block scalars, here-documents)."""
    def texts(source):
        return [c.text for c in catalog.code_comments(source)]
    python = ('x = "a # not"  # one\n%kubectl get pods  # the magic\n'
              's = """\n# inside a string\n"""\n# two\n# lines\n  # three\n'
              'y = 1  # noqa: E501\n')
    assert texts(python) == ["one", "two\nlines", "three"]
    yaml = ("%%apply\na: 'it # no'  # one\nb: |\n  # block content\n  more\n"
            "c: x#y\nd: \"q # no\"  # two\n")
    assert texts(yaml) == ["one", "two"]
    bash = ("%%bash\n#!/bin/bash\necho $# '#no' \"#no\" x  # one\ncat <<EOF\n# body\n"
            "EOF\n# two\n")
    assert texts(bash) == ["one", "two"]
    assert texts("%%kubectl\n# one\nget pods # not a comment\n") == ["one"]
    swapped = catalog.translate_comments(python, lambda t: t.upper().replace("\n", "\n+"))
    assert catalog.strip_comments(swapped) == catalog.strip_comments(python)
    assert "# TWO\n# +LINES\n" in swapped and "# noqa: E501" in swapped


@pytest.mark.parametrize("english", ENGLISH, ids=lambda p: p.stem)
def test_english_chapter_passes_its_lang_to_kubelab(english):
    code = [c.source for c in nbformat.read(english, as_version=4).cells
            if c.cell_type == "code"]
    assert any("open_lab(" in c and "lang=lang" in c for c in code)


@pytest.mark.parametrize("english", ENGLISH, ids=lambda p: p.stem)
def test_korean_prose_is_korean_and_keeps_the_chapter_shape(english):
    ko = nbformat.read(KOREAN / english.name, as_version=4)
    markdown = [c.source for c in ko.cells if c.cell_type == "markdown"]
    assert all(HANGUL.search(m) for m in markdown), "a markdown cell without Korean"
    text = "\n".join(markdown)
    assert "목표" in text and "```mermaid" in text
    assert text.count("<details>") == "\n".join(
        c.source for c in nbformat.read(english, as_version=4).cells).count("<details>")
    assert "kubernetes.io/ko/" in text          # the official Korean documentation


def test_start_here_links_the_guide_the_notes_recommend_and_the_glossary():
    text = (KOREAN / "00-start-here.ipynb").read_text(encoding="utf-8")
    assert "https://subicura.com/k8s" in text and "docs/ko/glossary.md" in text


def test_chapter_07_opens_with_the_notes_question_verbatim():
    first = nbformat.read(KOREAN / "07-ingress.ipynb", as_version=4).cells[0].source
    assert NOTES_QUESTION in first.split("목표")[0]
    seeds = list((ROOT.parent / "shared" / "seed").glob("*.txt"))
    if seeds:   # the notes themselves, where the workplace lays them beside the clone
        assert any(NOTES_QUESTION in s.read_text(encoding="utf-8") for s in seeds)


def test_glossary_page():
    text = (ROOT / "docs" / "ko" / "glossary.md").read_text(encoding="utf-8")
    for term in ("파드", "레플리카셋", "디플로이먼트", "서비스", "인그레스", "엔드포인트슬라이스",
                 "네임스페이스", "노드", "컨트롤 플레인", "레이블", "셀렉터", "복제셋", "배포",
                 "합니다체"):
        assert term in text, term


# ------------------------------------------------------------------ kubelab in Korean
def lab(chapter: str) -> Lab:
    return Lab(cluster=None, namespace="lab-test", chapter=chapter)  # type: ignore[arg-type]


def test_check_line_in_korean_keeps_its_marker(capsys):
    i18n.set_language("ko")
    lab("00-start-here").check("every node is Ready", True)
    out = capsys.readouterr().out
    assert out.startswith("✓ ") and HANGUL.search(out)


def test_an_fstring_description_is_matched_and_filled(capsys):
    i18n.set_language("ko")
    lab("01-minikube").check("web runs 6 Ready pods (2 × 3 nodes)", True)
    out = capsys.readouterr().out
    assert out.startswith("✓ ") and "6" in out and "3" in out and HANGUL.search(out)


def test_failed_check_in_korean_keeps_the_english_record():
    i18n.set_language("ko")
    chapter = lab("00-start-here")
    with pytest.raises(CheckFailed) as e:
        chapter.check("every node is Ready", lambda: (False, "0 nodes"),
                      hint="`kubectl describe node NAME` shows why a node is not Ready.")
    assert HANGUL.search(e.value.problem) and HANGUL.search(e.value.fix)
    assert "`kubectl describe node NAME`" in e.value.fix       # commands stay as they are
    assert chapter.results[0].description == "every node is Ready"   # progress key


def test_skip_message_keeps_its_marker_in_korean():
    i18n.set_language("ko")
    line = features.skip_message("sandbox", "containers", "`kubectl logs`")
    assert line.startswith("⏭ skipped") and HANGUL.search(line) and "`kubectl logs`" in line


def test_english_output_is_unchanged(capsys):
    i18n.set_language("en")
    lab("00-start-here").check("every node is Ready", True)
    assert capsys.readouterr().out == "✓ every node is Ready\n"
    assert features.skip_message("sandbox", "containers", "`kubectl logs`").startswith(
        "⏭ skipped on the sandbox backend: `kubectl logs` needs containers really running")


def test_language_order_parameter_then_env_then_locale(monkeypatch):
    for var in ("KUBELAB_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    assert i18n.set_language("") == "en"
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    assert i18n.set_language("") == "ko"
    monkeypatch.setenv("LC_ALL", "C.UTF-8")             # LC_ALL wins over LANG
    assert i18n.set_language("") == "en"
    monkeypatch.setenv("KUBELAB_LANG", "ko")           # the variable wins over the locale
    assert i18n.set_language("") == "ko"
    assert i18n.set_language("en") == "en"             # the notebook parameter wins
    with pytest.raises(Exception, match="unknown language"):
        i18n.set_language("fr")


def test_kubelab_errors_speak_korean():
    from kubelab._base.errors import KubelabError
    from kubelab._session import manifests
    i18n.set_language("ko")
    with pytest.raises(KubelabError) as e:
        manifests.parse("")
    assert HANGUL.search(str(e.value)) and HANGUL.search(e.value.fix)


# ------------------------------------------------------------------ JupyterLab in Korean
def test_open_lang_ko_starts_the_korean_edition_with_a_korean_ui(tmp_path, monkeypatch):
    own = tmp_path / "own-settings"
    theme = own / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings"
    theme.parent.mkdir(parents=True)
    theme.write_text('{"theme": "JupyterLab Dark"}')
    monkeypatch.setenv("JUPYTERLAB_SETTINGS_DIR", str(own))
    argv = jupyter.lab_command("/usr/bin/jupyter", "ko", state=tmp_path / "state")
    assert argv[:3] == ["/usr/bin/jupyter", "lab",
                        str(ROOT / "notebooks" / "ko" / "00-start-here.ipynb")]
    (flag,) = [a for a in argv if a.startswith("--LabApp.user_settings_dir=")]
    settings = Path(flag.split("=", 1)[1])
    locale = json.loads((settings / jupyter.TRANSLATION_SETTING).read_text(encoding="utf-8"))
    assert locale == {"locale": "ko_KR"}
    assert (settings / theme.relative_to(own)).read_text() == '{"theme": "JupyterLab Dark"}'
    assert sorted(p.name for p in own.rglob("*") if p.is_file()) == [theme.name]  # untouched
    assert (ROOT / "notebooks" / "ko" / "00-start-here.ipynb").exists()


def test_open_in_english_is_as_before():
    assert jupyter.lab_command("jupyter", "en") == \
        ["jupyter", "lab", str(ROOT / "notebooks" / "00-start-here.ipynb")]


def test_the_korean_language_pack_is_in_the_ko_extra_and_pinned():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"]
    assert any(p.startswith(jupyter.PACKS["ko"] + ">=") for p in extras["ko"])
    assert any(line.startswith(jupyter.PACKS["ko"] + "==")
               for line in (ROOT / "constraints.txt").read_text().splitlines())


def test_a_changed_english_cell_keeps_its_translation_as_fuzzy(tmp_path, monkeypatch):
    """What `update` does when a chapter's cell changes: the old translation comes back
    marked fuzzy, and the catalogue does not count as current until someone checks it."""
    monkeypatch.setattr(catalog, "LOCALE_DIR", tmp_path)
    cell = [("notebooks/x.ipynb", "c01")]
    old = [catalog.Message("## Old heading", occurrences=cell, comment="markdown cell")]
    po = catalog.update("ko", "x", old)
    po[0].msgstr = "## 예전 제목"
    catalog.po_path("x", "ko").parent.mkdir(parents=True)
    po.save(str(catalog.po_path("x", "ko")))
    new = [catalog.Message("## New heading", occurrences=cell, comment="markdown cell")]
    po = catalog.update("ko", "x", new)
    assert [(e.msgid, e.msgstr, e.flags, e.previous_msgid) for e in po] == \
        [("## New heading", "## 예전 제목", ["fuzzy"], "## Old heading")]
    assert catalog.problems(po, new) == ["fuzzy (English changed): '## New heading'"]
