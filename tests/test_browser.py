"""What a learner sees: chapter 00 in a real browser. JupyterLab is started as `kubelab open`
starts it (its command line, a token, no browser of its own), headless Chromium opens the
chapter through Selenium and runs every cell from the Run menu, against the running lab.
Then the page must show no traceback, the checks' ✓ and no ✗, each mermaid diagram as an
SVG of real size and each image loaded; screenshots of every section go to
.ci-state/screenshots/ and a line each to .ci-state/browser-report.txt.

It needs Debian's `chromium` and `chromium-driver`, Selenium and JupyterLab; without them
the module is skipped and says why, unless KUBELAB_REQUIRE_BROWSER=1 (CI), where it fails.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from test_notebooks import report as notebook_report

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "notebooks" / "00-start-here.ipynb"
SHOTS = ROOT / ".ci-state" / "screenshots"
REPORT = ROOT / ".ci-state" / "browser-report.txt"
RUN_TIMEOUT = 600          # papermill runs the chapter in well under this on the sandbox
START_TIMEOUT = 120        # JupyterLab answering, the page and its kernel ready
WINDOW = (1400, 1000)

pytestmark = pytest.mark.cluster

# JupyterLab settings for the test: every cell stays in the page (windowing would leave
# the cells out of view out of the DOM), the chapter is never saved over, no news toast.
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}


def report(line: str) -> None:
    notebook_report(line, REPORT)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def why_not_here() -> str | None:
    if not chromium():
        return "chromium is not installed (apt-get install chromium chromium-driver)"
    if not shutil.which("chromedriver"):
        return "chromedriver is not installed (apt-get install chromium-driver)"
    if not shutil.which("jupyter") or not _importable("jupyterlab"):
        return 'JupyterLab is not installed (pip install -e ".[test,lab]")'
    if not _importable("selenium"):
        return 'Selenium is not installed (pip install -e ".[test]")'
    return None


def _importable(module: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(module) is not None


def wait_for(what: str, probe, timeout: float, every: float = 0.5):
    """Call `probe` until it returns something true, at most `timeout` seconds; say what
    is awaited, and fail with it when the time is up."""
    print(f"waiting (at most {timeout:.0f} s) for {what}", flush=True)
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def jupyterlab(request, tmp_path_factory):
    """JupyterLab on the workbook, with `kubelab open`'s command line; its URL."""
    why = why_not_here()
    if why:
        if os.environ.get("KUBELAB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"a browser is required here (KUBELAB_REQUIRE_BROWSER=1): {why}")
        pytest.skip(f"no browser test here: {why}")
    request.getfixturevalue("cluster")        # the running lab, which the chapter uses
    import secrets

    from kubelab.cli import open_command
    state = tmp_path_factory.mktemp("jupyterlab")
    for name, values in SETTINGS.items():
        (state / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (state / "settings" / name).write_text(json.dumps(values))
    token = secrets.token_hex(24)
    port = free_port()
    argv, url, _ = open_command(shutil.which("jupyter"), "en", port=port, ip="127.0.0.1",
                                no_browser=True, as_root=os.geteuid() == 0, headless=True,
                                token=token)
    env = dict(os.environ, JUPYTER_TOKEN=token, KUBELAB_LANG="en",
               JUPYTERLAB_SETTINGS_DIR=str(state / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"),
               JUPYTER_RUNTIME_DIR=str(state / "runtime"))
    before = digest(CHAPTER)
    log = (state / "jupyterlab.log").open("w")
    server = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL)
    api = f"http://127.0.0.1:{port}/api"

    def answers():
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited ({server.returncode}): "
                        f"{(state / 'jupyterlab.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{api}/status?token={token}", timeout=5) as r:
                return r.status == 200
        except OSError:
            return False
    try:
        wait_for(f"JupyterLab on 127.0.0.1:{port}", answers, START_TIMEOUT)
        yield {"url": url, "api": api, "token": token}
    finally:
        server.terminate()                    # the server this fixture started, by PID
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()
        assert digest(CHAPTER) == before, "the chapter's file was written during the test"


@pytest.fixture(scope="module")
def browser(jupyterlab):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    os.environ.setdefault("SE_OFFLINE", "true")     # Selenium Manager downloads nothing
    options = webdriver.ChromeOptions()
    options.binary_location = chromium()
    for arg in ("--headless=new", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={WINDOW[0]},{WINDOW[1]}", "--force-device-scale-factor=1",
                "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")
    service = Service(executable_path=shutil.which("chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(START_TIMEOUT)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        try:
            driver.quit()
        finally:
            process = service.process         # chromedriver, started here, by PID
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=10)


def kernel_states(jupyterlab) -> list[str]:
    with urllib.request.urlopen(f"{jupyterlab['api']}/kernels?token={jupyterlab['token']}",
                                timeout=5) as r:
        return [k["execution_state"] for k in json.load(r)]


ERRORS_JS = """
const out = [];
document.querySelectorAll(
  '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
).forEach(e => out.push(e.innerText));
document.querySelectorAll('.jp-OutputArea-output .jp-RenderedText').forEach(e => {
  if (/Traceback \\(most recent call last\\)|^\\w+(Error|Exception):/m.test(e.innerText))
    out.push(e.innerText);
});
return out;
"""

PROMPTS_JS = """
return Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt'))
  .map(e => e.innerText.trim());
"""


@pytest.fixture(scope="module")
def page(jupyterlab, browser):
    """The chapter open in the browser with every cell run; figures of the run."""
    from selenium.webdriver.common.by import By
    nb = json.loads(CHAPTER.read_text())
    code_cells = sum(1 for c in nb["cells"] if c["cell_type"] == "code")
    try:
        start = time.monotonic()
        browser.get(jupyterlab["url"])
        wait_for(f"the chapter's {code_cells} code cells in the page",
                 lambda: len(browser.execute_script(PROMPTS_JS)) == code_cells, START_TIMEOUT)
        wait_for("the kernel to be idle (the notebook's execution indicator)",
                 lambda: browser.find_elements(
                     By.CSS_SELECTOR, '.jp-Notebook-ExecutionIndicator[data-status="idle"]'),
                 START_TIMEOUT)
        opened = time.monotonic() - start

        # Run → Run All Cells, as a learner would
        menu = wait_for("the Run menu", lambda: [e for e in browser.find_elements(
            By.CSS_SELECTOR, "#jp-MainMenu .lm-MenuBar-item") if e.text.strip() == "Run"], 30)
        menu[0].click()
        item = wait_for("Run All Cells in the Run menu", lambda: [e for e in browser.find_elements(
            By.CSS_SELECTOR, ".lm-Menu-content .lm-Menu-item")
            if e.is_displayed() and e.text.strip().startswith("Run All Cells")], 30)
        item[0].click()
        run_start = time.monotonic()

        last_said = [0.0]

        def finished():
            errors = browser.execute_script(ERRORS_JS)
            if errors:                            # Run All stops there: no need to wait on
                pytest.fail("an error in the page:\n" + "\n---\n".join(errors)[:4000])
            prompts = browser.execute_script(PROMPTS_JS)
            done = [p for p in prompts if re.fullmatch(r"\[\d+\]:", p)]
            if time.monotonic() - last_said[0] > 15:
                last_said[0] = time.monotonic()
                print(f"  {len(done)}/{len(prompts)} code cells have run, "
                      f"{sum(p == '[*]:' for p in prompts)} running or queued", flush=True)
            return (len(done) == len(prompts) == code_cells
                    and kernel_states(jupyterlab) == ["idle"])
        wait_for(f"every one of {code_cells} code cells to have an execution count and the "
                 "kernel to be idle", finished, RUN_TIMEOUT, every=1.0)
        ran = time.monotonic() - run_start
        report(f"00-start-here in Chromium: page and kernel ready in {opened:.1f} s, "
               f"{code_cells} code cells run in {ran:.1f} s")
    except BaseException:                    # what the page showed when it went wrong
        SHOTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SHOTS / "00-start-here-failure.png"))
        report(f"screenshot {(SHOTS / '00-start-here-failure.png').relative_to(ROOT)}: "
               "the page when the run failed")
        raise
    return {"driver": browser, "nb": nb, "code_cells": code_cells}


def output_lines(driver) -> list[str]:
    text = driver.execute_script(
        "return Array.from(document.querySelectorAll('.jp-OutputArea-output'))"
        ".map(e => e.innerText).join('\\n');")
    return [line.strip() for line in text.splitlines()]


def test_no_error_in_the_page(page):
    errors = page["driver"].execute_script(ERRORS_JS)
    assert not errors, "\n---\n".join(errors)


def test_the_checks_passed(page):
    lines = output_lines(page["driver"])
    passed = [x for x in lines if x.startswith("✓")]
    failed = [x for x in lines if x.startswith("✗")]
    assert not failed, failed
    assert passed, "no check printed ✓ in the page"
    report(f"00-start-here in Chromium: {len(passed)} checks passed (✓), none failed")


def test_every_picture_rendered(page):
    driver = page["driver"]
    fences = sum("```mermaid" in "".join(c["source"]) for c in page["nb"]["cells"]
                 if c["cell_type"] == "markdown")
    assert fences > 0, "chapter 00 has diagrams: they are what this test looks at"
    # JupyterLab 4 renders a ```mermaid fence to SVG, shown as <img src="data:image/svg+xml,…">
    sizes_js = """
    return Array.from(document.querySelectorAll(
        '.jp-RenderedMermaid svg, .jp-RenderedMermaid img')).map(e => {
      e.scrollIntoView({block: 'center'});
      const r = e.getBoundingClientRect();
      const svg = e.tagName.toLowerCase() === 'svg' ||
        (e.complete && e.src.startsWith('data:image/svg+xml') && e.src.includes('%3Csvg'));
      return [r.width, r.height, svg]; });"""

    def rendered():
        found = driver.execute_script(sizes_js)
        return found if sum(svg for *_, svg in found) >= fences else None
    sizes = wait_for(f"{fences} mermaid diagrams rendered as SVG", rendered, 60)
    broken = driver.execute_script(
        "return document.querySelectorAll('.jp-RenderedMermaid.jp-mod-warning').length")
    assert broken == 0, f"{broken} mermaid diagrams failed to render"
    for w, h, _ in sizes:
        assert w > 50 and h > 50, f"a diagram of {w:.0f}x{h:.0f} px"
    images = driver.execute_script("""
    return Array.from(document.querySelectorAll('.jp-OutputArea img, .jp-RenderedMarkdown img'))
      .map(i => [i.currentSrc.slice(0, 80), i.complete, i.naturalWidth, i.naturalHeight]);""")
    for src, complete, w, h in images:
        assert complete and w > 10 and h > 10, f"image {src} is {w}x{h} px"
    report(f"00-start-here in Chromium: {len(sizes)} mermaid SVGs ("
           + ", ".join(f"{w:.0f}x{h:.0f}" for w, h, _ in sizes)
           + f" px), {len(images)} images loaded (the diagrams among them)")


def test_screenshots_of_every_section(page):
    from selenium.webdriver.common.by import By
    driver = page["driver"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("00-start-here-*.png"):
        old.unlink()
    headings = driver.find_elements(By.CSS_SELECTOR,
                                    ".jp-Notebook .jp-RenderedMarkdown :is(h1, h2)")
    assert headings, "no section headings in the page"
    shots = []
    for i, h in enumerate(headings):
        title = h.text.replace("¶", "").strip()
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", h)
        time.sleep(0.3)          # one frame to paint; bounded, no waiting on a condition
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40]
        path = SHOTS / f"00-start-here-{i:02d}-{slug}.png"
        assert driver.save_screenshot(str(path)), path
        shots.append((path, f"section “{title}”"))
    for i, d in enumerate(driver.find_elements(By.CSS_SELECTOR, ".jp-RenderedMermaid")):
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", d)
        time.sleep(0.3)
        path = SHOTS / f"00-start-here-diagram-{i + 1}.png"
        d.screenshot(str(path))
        shots.append((path, f"mermaid diagram {i + 1}"))
    for path, what in shots:
        assert path.stat().st_size > 5000, f"{path.name} is nearly empty"
        report(f"screenshot {path.relative_to(ROOT)}: {what} "
               f"({path.stat().st_size // 1024} KiB)")

