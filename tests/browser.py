"""A learner's browser, for tests: JupyterLab started as `kubelab open` starts it, headless
Chromium driven by Selenium, and what the page shows after Run All Cells. Used by
tests/test_browser.py (the sandbox) and tests/test_local_node.py (the real node).

It needs Debian's `chromium` and `chromium-driver`, Selenium and JupyterLab.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SHOTS = ROOT / ".ci-state" / "screenshots"
START_TIMEOUT = 120        # JupyterLab answering, the page and its kernel ready
RUN_TIMEOUT = 600          # papermill runs any chapter in well under this
WINDOW = (1400, 1000)

# JupyterLab settings for the test: every cell stays in the page (windowing would leave
# the cells out of view out of the DOM), the chapter is never saved over, no news toast.
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def why_not_here() -> str | None:
    """Why no browser test can run on this machine, or None."""
    import importlib.util
    if not chromium():
        return "chromium is not installed (apt-get install chromium chromium-driver)"
    if not shutil.which("chromedriver"):
        return "chromedriver is not installed (apt-get install chromium-driver)"
    if not shutil.which("jupyter") or importlib.util.find_spec("jupyterlab") is None:
        return 'JupyterLab is not installed (pip install -e ".[test,lab]")'
    if importlib.util.find_spec("selenium") is None:
        return 'Selenium is not installed (pip install -e ".[test]")'
    return None


def require_browser() -> None:
    """Skip, saying why, where no browser can run; fail instead in CI."""
    why = why_not_here()
    if why:
        if os.environ.get("KUBELAB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"a browser is required here (KUBELAB_REQUIRE_BROWSER=1): {why}")
        pytest.skip(f"no browser test here: {why}")


def wait_for(what: str, probe: Callable[[], Any], timeout: float, every: float = 0.5) -> Any:
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextmanager
def jupyterlab(state: Path) -> Iterator[dict]:
    """JupyterLab on the workbook with `kubelab open`'s command line, in this process's
    environment (so its kernels reach the same lab); its URLs and token."""
    from kubelab.cli.open import open_command
    for name, values in SETTINGS.items():
        (state / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (state / "settings" / name).write_text(json.dumps(values))
    token = secrets.token_hex(24)
    port = _free_port()
    argv, url, _ = open_command(shutil.which("jupyter"), "en", port=port, ip="127.0.0.1",
                                no_browser=True, as_root=os.geteuid() == 0, headless=True,
                                token=token)
    env = dict(os.environ, JUPYTER_TOKEN=token, KUBELAB_LANG="en",
               JUPYTERLAB_SETTINGS_DIR=str(state / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"),
               JUPYTER_RUNTIME_DIR=str(state / "runtime"))
    before = {p: digest(p) for p in NOTEBOOKS.glob("*.ipynb")}
    log = (state / "jupyterlab.log").open("w")
    server = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL)
    api = f"http://127.0.0.1:{port}/api"

    def answers() -> bool:
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
        yield {"url": url, "base": f"http://127.0.0.1:{port}", "api": api, "token": token}
    finally:
        server.terminate()                    # the server started here, by PID
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()
        changed = [p.name for p, d in before.items() if digest(p) != d]
        assert not changed, f"chapters written during the test: {changed}"


@contextmanager
def chromium_driver() -> Iterator[Any]:
    """Headless Debian Chromium through chromedriver; Selenium Manager downloads nothing."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    os.environ.setdefault("SE_OFFLINE", "true")
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


def kernel_states(server: dict) -> list[str]:
    with urllib.request.urlopen(f"{server['api']}/kernels?token={server['token']}",
                                timeout=5) as r:
        return [k["execution_state"] for k in json.load(r)]


def close_sessions(server: dict) -> None:
    """Shut down the kernels of chapters opened before (through the server's API), so the
    next chapter's run is the only one."""
    with urllib.request.urlopen(f"{server['api']}/sessions?token={server['token']}",
                                timeout=5) as r:
        sessions = json.load(r)
    for session in sessions:
        request = urllib.request.Request(
            f"{server['api']}/sessions/{session['id']}?token={server['token']}",
            method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()
    wait_for("the earlier chapters' kernels to stop", lambda: not kernel_states(server), 30)


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

# Every image an output area shows, as it appears: a chart updated through its display
# handle replaces its <img>, so a picture that changed leaves several sources for one cell.
WATCH_IMAGES_JS = """
window.__kubelabImages = [];
const cells = () => Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell'));
const seen = img => {
  const cell = img.closest('.jp-CodeCell');
  if (!cell || !img.closest('.jp-OutputArea')) return;
  const src = img.getAttribute('src') || '';
  window.__kubelabImages.push([cells().indexOf(cell), src.length + ':' + src.slice(-48)]);
};
new MutationObserver(changes => changes.forEach(c => {
  if (c.type === 'attributes') { if (c.target.tagName === 'IMG') seen(c.target); return; }
  c.addedNodes.forEach(n => {
    if (n.nodeType !== 1) return;
    if (n.tagName === 'IMG') seen(n);
    n.querySelectorAll && n.querySelectorAll('img').forEach(seen);
  });
})).observe(document.querySelector('.jp-Notebook'),
            {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
"""


def run_all(driver: Any, server: dict, chapter: str) -> dict:
    """Open `chapter` (a notebook's stem) and run every cell from the Run menu, as a
    learner would; figures of the run, and how many pictures each cell showed."""
    from selenium.webdriver.common.by import By
    path = NOTEBOOKS / f"{chapter}.ipynb"
    nb = json.loads(path.read_text())
    code_cells = sum(1 for c in nb["cells"] if c["cell_type"] == "code")
    close_sessions(server)
    start = time.monotonic()
    # a workspace of its own: JupyterLab would reopen the chapters opened before
    workspace = quote(chapter.replace("/", "-"))
    driver.get(f"{server['base']}/lab/workspaces/{workspace}/tree/"
               f"{quote(path.relative_to(NOTEBOOKS).as_posix())}?reset&token={server['token']}")
    wait_for(f"{chapter}'s {code_cells} code cells in the page",
             lambda: len(driver.execute_script(PROMPTS_JS)) == code_cells, START_TIMEOUT)
    wait_for("the kernel to be idle (the notebook's execution indicator)",
             lambda: driver.find_elements(
                 By.CSS_SELECTOR, '.jp-Notebook-ExecutionIndicator[data-status="idle"]'),
             START_TIMEOUT)
    opened = time.monotonic() - start
    driver.execute_script(WATCH_IMAGES_JS)

    menu = wait_for("the Run menu", lambda: [e for e in driver.find_elements(
        By.CSS_SELECTOR, "#jp-MainMenu .lm-MenuBar-item") if e.text.strip() == "Run"], 30)
    menu[0].click()
    item = wait_for("Run All Cells in the Run menu", lambda: [e for e in driver.find_elements(
        By.CSS_SELECTOR, ".lm-Menu-content .lm-Menu-item")
        if e.is_displayed() and e.text.strip().startswith("Run All Cells")], 30)
    item[0].click()
    run_start = time.monotonic()
    last_said = [0.0]

    def finished() -> bool:
        errors = driver.execute_script(ERRORS_JS)
        if errors:                            # Run All stops there: no need to wait on
            pytest.fail("an error in the page:\n" + "\n---\n".join(errors)[:4000])
        prompts = driver.execute_script(PROMPTS_JS)
        done = [p for p in prompts if re.fullmatch(r"\[\d+\]:", p)]
        if time.monotonic() - last_said[0] > 15:
            last_said[0] = time.monotonic()
            print(f"  {chapter}: {len(done)}/{len(prompts)} code cells have run, "
                  f"{sum(p == '[*]:' for p in prompts)} running or queued", flush=True)
        return len(done) == len(prompts) == code_cells and kernel_states(server) == ["idle"]
    try:
        wait_for(f"every one of {code_cells} code cells to have an execution count and the "
                 "kernel to be idle", finished, RUN_TIMEOUT, every=1.0)
    except BaseException:                    # what the page showed when it went wrong
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = f"{chapter.replace('/', '-')}-failure.png"
        driver.save_screenshot(str(SHOTS / shot))
        print(f"screenshot of the page when the run failed: {shot}")
        raise
    pictures: dict[int, set[str]] = {}
    for cell, src in driver.execute_script("return window.__kubelabImages;"):
        pictures.setdefault(cell, set()).add(src)
    return {"nb": nb, "code_cells": code_cells, "opened": opened,
            "ran": time.monotonic() - run_start,
            "pictures_per_cell": {cell: len(srcs) for cell, srcs in pictures.items()}}


def output_lines(driver: Any) -> list[str]:
    text = driver.execute_script(
        "return Array.from(document.querySelectorAll('.jp-OutputArea-output'))"
        ".map(e => e.innerText).join('\\n');")
    return [line.strip() for line in text.splitlines()]


def page_errors(driver: Any) -> list[str]:
    return driver.execute_script(ERRORS_JS)


def checks(driver: Any) -> tuple[list[str], list[str]]:
    """The check lines the page shows: passed (✓) and failed (✗)."""
    lines = output_lines(driver)
    return ([x for x in lines if x.startswith("✓")], [x for x in lines if x.startswith("✗")])


def output_images(driver: Any) -> list[tuple[str, bool, int, int]]:
    """Every image in the outputs and the rendered markdown: source, loaded, size."""
    return driver.execute_script("""
    return Array.from(document.querySelectorAll('.jp-OutputArea img, .jp-RenderedMarkdown img'))
      .map(i => [i.currentSrc.slice(0, 80), i.complete, i.naturalWidth, i.naturalHeight]);""")


def charts(driver: Any) -> list[tuple[str, bool, int, int]]:
    """The charts among the output images (matplotlib PNGs)."""
    return [i for i in output_images(driver) if i[0].startswith("data:image/png")]


def mermaid_sizes(driver: Any, expected: int) -> list[tuple[float, float, bool]]:
    """Each mermaid diagram's size once `expected` of them are SVGs; fails if one broke.
    JupyterLab 4 renders a ```mermaid fence to <img src="data:image/svg+xml,…">."""
    sizes_js = """
    return Array.from(document.querySelectorAll(
        '.jp-RenderedMermaid svg, .jp-RenderedMermaid img')).map(e => {
      e.scrollIntoView({block: 'center'});
      const r = e.getBoundingClientRect();
      const svg = e.tagName.toLowerCase() === 'svg' ||
        (e.complete && e.src.startsWith('data:image/svg+xml') && e.src.includes('%3Csvg'));
      return [r.width, r.height, svg]; });"""

    def rendered() -> list | None:
        found = driver.execute_script(sizes_js)
        return found if sum(svg for *_, svg in found) >= expected else None
    sizes = wait_for(f"{expected} mermaid diagrams rendered as SVG", rendered, 60)
    broken = driver.execute_script(
        "return document.querySelectorAll('.jp-RenderedMermaid.jp-mod-warning').length")
    assert broken == 0, f"{broken} mermaid diagrams failed to render"
    return sizes


def screenshots(driver: Any, stem: str) -> list[tuple[Path, str]]:
    """A screenshot of every section, every mermaid diagram and every chart in the
    outputs, under .ci-state/screenshots/; (path, what it shows) each."""
    from selenium.webdriver.common.by import By
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob(f"{stem}-*.png"):
        old.unlink()
    shots = []
    headings = driver.find_elements(By.CSS_SELECTOR,
                                    ".jp-Notebook .jp-RenderedMarkdown :is(h1, h2)")
    for i, h in enumerate(headings):
        title = h.text.replace("¶", "").strip()
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", h)
        time.sleep(0.3)          # one frame to paint; bounded, no waiting on a condition
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40]
        path = SHOTS / f"{stem}-{i:02d}-{slug}.png"
        assert driver.save_screenshot(str(path)), path
        shots.append((path, f"section “{title}”"))
    for kind, css in (("diagram", ".jp-RenderedMermaid"), ("chart", ".jp-OutputArea img")):
        for i, element in enumerate(driver.find_elements(By.CSS_SELECTOR, css)):
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
            time.sleep(0.3)
            path = SHOTS / f"{stem}-{kind}-{i + 1}.png"
            element.screenshot(str(path))
            shots.append((path, f"{'mermaid diagram' if kind == 'diagram' else 'chart'} "
                                f"{i + 1}"))
    return shots
