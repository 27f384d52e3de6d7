"""The instructor's live board: learners x chapters with the checks each passed, the time of
each learner's last check, and who is stuck (the same check failing for more than
`stuck_minutes`, with its ✗ line), kept up to date from the watch API on the learners'
progress records while the class works.

The records are self-reported: each learner's login writes its own after every check
(kubelab does it for them), and a login that can write them could write anything. The
board says so on its face. What it reads is never trusted for more than a picture."""
from __future__ import annotations

import html
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from kubelab._base.contract import (LEARNER_LABEL, PROGRESS_CONFIGMAP, WORKSHOP_LABEL,
                                    ProgressRecord, learner_namespace)
from kubelab._cluster.cluster import Cluster

STUCK_MINUTES = 10.0
SELF_REPORTED = ("results are self-reported: each learner's login writes its own record "
                 "after every check")


@dataclass
class Row:
    learner: str
    chapters: dict[str, ProgressRecord] = field(default_factory=dict)
    last: datetime | None = None          # the learner's last check, any chapter
    stuck: tuple[str, ProgressRecord, float] | None = None   # chapter, record, minutes


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def rows(records: dict[str, dict[str, ProgressRecord]], now: datetime,
         stuck_minutes: float = STUCK_MINUTES) -> list[Row]:
    """One row per learner: their chapters, last check, and the chapter they are stuck in
    (the longest failing check older than `stuck_minutes`), if any."""
    out = []
    for learner, chapters in sorted(records.items()):
        row = Row(learner, dict(chapters))
        times = [t for r in chapters.values() if (t := _time(r.at))]
        row.last = max(times) if times else None
        for chapter, record in chapters.items():
            since = _time(record.since)
            if not record.failing or since is None:
                continue
            minutes = (now - since).total_seconds() / 60
            if minutes >= stuck_minutes and (row.stuck is None or minutes > row.stuck[2]):
                row.stuck = (chapter, record, minutes)
        out.append(row)
    return out


def _ago(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "-"
    seconds = max(0, int((now - then).total_seconds()))
    return f"{seconds} s ago" if seconds < 120 else f"{seconds // 60} min ago"


def _cell(record: ProgressRecord | None) -> str:
    if record is None or not record.checks:
        return "-"
    mark = " ✗" if record.failing else ""
    return f"{sum(record.checks.values())}/{len(record.checks)}{mark}"


def text(board_rows: list[Row], now: datetime) -> str:
    """The board as plain text (a terminal, or a headless run)."""
    chapters = sorted({c for r in board_rows for c in r.chapters})
    lines = [f"{'learner':<16}" + "".join(f"{c[:9]:>10}" for c in chapters) +
             f"  {'last check':<12} stuck"]
    for r in board_rows:
        stuck = (f"{r.stuck[0]} {r.stuck[2]:.0f} min: ✗ {r.stuck[1].failing}"
                 if r.stuck else "")
        lines.append(f"{r.learner:<16}" + "".join(f"{_cell(r.chapters.get(c)):>10}"
                                                  for c in chapters) +
                     f"  {_ago(now, r.last):<12} {stuck}")
    lines.append(f"({SELF_REPORTED})")
    return "\n".join(lines)


def page(board_rows: list[Row], now: datetime, state: str,
         stuck_minutes: float = STUCK_MINUTES) -> str:
    """The board as HTML, large enough to read from across the room: green for a chapter
    whose checks all passed, amber while one fails, red for a learner who is stuck."""
    chapters = sorted({c for r in board_rows for c in r.chapters})
    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in chapters)
    body = []
    for r in board_rows:
        cells = []
        for c in chapters:
            record = r.chapters.get(c)
            color = "#eee" if record is None or not record.checks else \
                "#f5b7b1" if r.stuck and r.stuck[0] == c else \
                "#fde2a7" if record.failing else "#b8e6b8"
            cells.append(f'<td style="background:{color}">{esc(_cell(record))}</td>')
        stuck = (f'<td style="background:#f5b7b1">{esc(r.stuck[0])}, '
                 f"{r.stuck[2]:.0f} min: ✗ {esc(r.stuck[1].failing)}</td>"
                 if r.stuck else "<td></td>")
        body.append(f"<tr><th>{esc(r.learner)}</th>{''.join(cells)}"
                    f"<td>{esc(_ago(now, r.last))}</td>{stuck}</tr>")
    return ('<div class="kubelab-board" style="font-size:20px">'
            f"<b>{esc(state)}</b> · stuck = the same check failing for "
            f"{stuck_minutes:g}+ min · <i>{esc(SELF_REPORTED)}</i>"
            '<table style="font-size:22px;border-collapse:collapse" border="1" '
            'cellpadding="6"><tr><th>learner</th>'
            f"{head}<th>last check</th><th>stuck</th></tr>{''.join(body)}</table></div>")


class Board:
    """`board = Board(cluster, "ws").start()` follows the workshop's progress records for
    at most `hours` (stop it with `board.stop()`); `board.show()` in a notebook."""

    def __init__(self, cluster: Cluster, workshop: str, *,
                 stuck_minutes: float = STUCK_MINUTES, hours: float = 4) -> None:
        self.cluster, self.workshop = cluster, workshop
        self.stuck_minutes, self.seconds = stuck_minutes, hours * 3600
        self.records: dict[str, dict[str, ProgressRecord]] = {}
        self.events = 0                      # records seen changing since start
        self._learners: dict[str, str] = {}  # namespace -> learner
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._watch = None
        self._listeners: list[Callable[[], None]] = []
        self._widget = None

    # ------------------------------------------------------------------ following
    def _core(self):
        from kubernetes import client
        return client.CoreV1Api(self.cluster.api_client())

    def _read_learners(self, core) -> None:  # noqa: ANN001
        found = core.list_namespace(label_selector=f"{WORKSHOP_LABEL}={self.workshop}").items
        with self._lock:
            for ns in found:
                learner = (ns.metadata.labels or {}).get(LEARNER_LABEL)
                if learner and ns.metadata.name == learner_namespace(self.workshop, learner):
                    self._learners[ns.metadata.name] = learner
                    self.records.setdefault(learner, {})

    def _take(self, namespace: str, data: dict | None) -> None:
        learner = self._learners.get(namespace)
        if learner is None:
            return
        with self._lock:
            self.records[learner] = {c: ProgressRecord.loads(raw)
                                     for c, raw in (data or {}).items()}

    def start(self) -> "Board":
        """Read every record once, then follow changes in a background thread."""
        core = self._core()
        self._read_learners(core)
        listing = core.list_config_map_for_all_namespaces(
            field_selector=f"metadata.name={PROGRESS_CONFIGMAP}")
        for cm in listing.items:
            self._take(cm.metadata.namespace, cm.data)
        follow = threading.Thread(target=self._follow,
                                  args=(core, listing.metadata.resource_version), daemon=True)
        tick = threading.Thread(target=self._tick, daemon=True)    # "stuck for N min" ages
        self._threads = [follow, tick]
        for t in self._threads:
            t.start()
        timer = threading.Timer(self.seconds, self.stop)
        timer.daemon = True
        timer.start()
        return self

    def _follow(self, core, version: str) -> None:  # noqa: ANN001
        from kubernetes import client, watch
        while not self._stop.is_set():
            self._watch = watch.Watch()
            try:
                for event in self._watch.stream(
                        core.list_config_map_for_all_namespaces, resource_version=version,
                        field_selector=f"metadata.name={PROGRESS_CONFIGMAP}",
                        timeout_seconds=300, _request_timeout=330):
                    cm = event["object"]
                    version = cm.metadata.resource_version
                    if cm.metadata.namespace not in self._learners:
                        self._read_learners(core)          # a learner added since
                    self._take(cm.metadata.namespace,
                               None if event["type"] == "DELETED" else cm.data)
                    self.events += 1
                    self._changed()
            except client.ApiException as e:
                if e.status != 410:                       # not "too old": wait, then again
                    self._stop.wait(5)
                version = core.list_config_map_for_all_namespaces(
                    field_selector=f"metadata.name={PROGRESS_CONFIGMAP}"
                ).metadata.resource_version
            except Exception:  # noqa: BLE001 - the board must outlive a dropped connection
                self._stop.wait(5)

    def _tick(self) -> None:
        while not self._stop.wait(30):
            self._changed()

    def stop(self) -> None:
        """Stop following (within about a second); the board keeps its last picture."""
        self._stop.set()
        if self._watch is not None:
            self._watch.stop()
        self._changed()

    # ------------------------------------------------------------------ reading
    def rows(self, now: datetime | None = None) -> list[Row]:
        with self._lock:
            records = {k: dict(v) for k, v in self.records.items()}
        return rows(records, now or datetime.now(timezone.utc), self.stuck_minutes)

    def text(self) -> str:
        return text(self.rows(), datetime.now(timezone.utc))

    def html(self) -> str:
        now = datetime.now(timezone.utc)
        state = (f"workshop {self.workshop}: stopped" if self._stop.is_set() else
                 f"workshop {self.workshop}: live, {now:%H:%M:%S} UTC, "
                 f"{self.events} updates")
        return page(self.rows(now), now, state, self.stuck_minutes)

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        if self._widget is not None:
            self._widget.value = self.html()
        for listener in self._listeners:
            listener()

    def show(self) -> None:
        """Display the board in JupyterLab (it updates itself) with a Stop button; a
        headless run prints it as text."""
        try:
            import ipywidgets
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            ipywidgets = None
        if ipywidgets is None or get_ipython() is None:
            print(self.text())
            return
        self._widget = ipywidgets.HTML(self.html())
        button = ipywidgets.Button(description="Stop the board")
        button.on_click(lambda _: self.stop())
        display(ipywidgets.VBox([button, self._widget]))


def wait_until(board: Board, condition: Callable[[list[Row]], bool],
               timeout: float = 60) -> list[Row]:
    """Wait (bounded) until the board's rows satisfy `condition`; for tests and demos."""
    deadline = time.monotonic() + timeout
    changed = threading.Event()
    board.on_change(changed.set)
    while not condition(found := board.rows()):
        if time.monotonic() >= deadline:
            raise TimeoutError(f"the board did not show it within {timeout:.0f} s")
        changed.wait(1)
        changed.clear()
    return found
