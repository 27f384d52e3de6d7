"""A live, bounded view of objects while they change (pods leaving and arriving during a
rollout, endpoints following pods). It runs beside the cell for at most `seconds`, shows a
table that updates in JupyterLab, and leaves a text timeline of what it saw, which is
also what a headless run (papermill) keeps."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from kubelab._base.i18n import tr
from kubelab._session import watching
from kubelab._session.objects import pod_ready


@dataclass
class Seen:
    at: float        # seconds since the view started
    event: str       # ADDED, MODIFIED, DELETED
    kind: str
    name: str
    summary: str
    obj: dict = field(default_factory=dict, repr=False)   # the object as it was then


def summarize(kind: str, obj: dict) -> str:
    spec, st = obj.get("spec") or {}, obj.get("status") or {}
    if kind == "Pod":
        ready = pod_ready(obj)
        image = (spec.get("containers") or [{}])[0].get("image", "").rsplit("/", 1)[-1]
        gone = " terminating" if obj["metadata"].get("deletionTimestamp") else ""
        return (f"{st.get('phase', 'Pending')}{' Ready' if ready else ''}{gone} "
                f"{image} on {spec.get('nodeName') or '-'}")
    if kind in ("ReplicaSet", "Deployment"):
        return (f"want {spec.get('replicas', 0)} have {st.get('replicas', 0)} "
                f"ready {st.get('readyReplicas', 0)}")
    if kind == "EndpointSlice":
        ready = [",".join(e.get("addresses", [])) for e in obj.get("endpoints") or []
                 if (e.get("conditions") or {}).get("ready")]
        waiting = [",".join(e.get("addresses", [])) for e in obj.get("endpoints") or []
                   if not (e.get("conditions") or {}).get("ready")]
        text = tr("ready endpoints: {addresses}",
                  addresses=", ".join(sorted(ready)) or tr("(none)"))
        return text + (tr("; not ready: {addresses}", addresses=", ".join(sorted(waiting)))
                       if waiting else "")
    return ""


class LiveView:
    """`with lab.live(["ReplicaSet", "Pod"], "app=web", seconds=20) as view: ...`"""

    def __init__(self, lab, kinds: list[str], selector: str | None, seconds: float) -> None:  # noqa: ANN001
        self.lab, self.kinds, self.selector, self.seconds = lab, kinds, selector, seconds
        self.seen: list[Seen] = []
        self.current: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._watchers: list = []
        self._widget = None
        self._start = 0.0
        self._listeners: list[Callable[[bool], None]] = []

    # ---------------------------------------------------------------- running
    def __enter__(self) -> "LiveView":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        from kubernetes import watch
        self._start = time.monotonic()
        self._show_widget()
        for kind in self.kinds:
            resource = watching.resource_for(self.lab.dynamic, kind)
            w = watch.Watch()
            self._watchers.append(w)
            t = threading.Thread(target=self._follow, args=(kind, resource, w), daemon=True)
            t.start()
            self._threads.append(t)
        timer = threading.Timer(self.seconds, self._stop.set)
        timer.daemon = True
        timer.start()

    def _follow(self, kind: str, resource, w) -> None:  # noqa: ANN001
        try:
            for event in resource.watch(namespace=self.lab.namespace,
                                        label_selector=self.selector,
                                        timeout=max(1, int(self.seconds)), watcher=w):
                if self._stop.is_set():
                    break
                obj = event["raw_object"]
                name = obj["metadata"]["name"]
                summary = summarize(kind, obj)
                with self._lock:
                    key = (kind, name)
                    if event["type"] == "DELETED":
                        self.current.pop(key, None)
                    elif self.current.get(key) == summary:
                        continue          # nothing a learner would see changed
                    else:
                        self.current[key] = summary
                    self.seen.append(Seen(round(time.monotonic() - self._start, 2),
                                          event["type"], kind, name, summary, obj))
                self._refresh_widget()
        except Exception as e:  # noqa: BLE001 - a view must never break the lesson
            if self._stop.is_set():
                return            # the connection closing under a stopped view
            with self._lock:
                self.seen.append(Seen(round(time.monotonic() - self._start, 2), "ERROR",
                                      kind, "-", str(e)[:120]))

    def stop(self) -> None:
        """Stop watching (returns within about a second) and print the timeline."""
        self._stop.set()
        for w in self._watchers:
            w.stop()
        for t in self._threads:
            t.join(timeout=1)
        self._refresh_widget(final=True)
        print(self.timeline())

    def on_change(self, listener: Callable[[bool], None]) -> None:
        """Call `listener(final)` after each change the view records (from its watching
        thread, final=False) and once when it stops (final=True): how a chart follows."""
        self._listeners.append(listener)

    # ---------------------------------------------------------------- reading
    def timeline(self) -> str:
        with self._lock:
            rows = [f"  +{s.at:6.2f}s  {s.event:<8} {s.kind:<13} {s.name:<28} {s.summary}"
                    for s in self.seen]
        head = tr("live view of {kinds} with {selector} ({count} changes seen):",
                  kinds=", ".join(self.kinds), selector=self.selector, count=len(rows)) \
            if self.selector else tr("live view of {kinds} ({count} changes seen):",
                                     kinds=", ".join(self.kinds), count=len(rows))
        return head + "\n" + "\n".join(rows)

    def states(self, kind: str) -> list[dict[str, dict]]:
        """After each change of `kind`, every object of that kind as it then was: the
        moments a check can ask questions about ("was there ever a time when ...")."""
        now: dict[str, dict] = {}
        out = []
        with self._lock:
            for s in self.seen:
                if s.kind != kind:
                    continue
                if s.event == "DELETED":
                    now.pop(s.name, None)
                else:
                    now[s.name] = s.obj
                out.append(dict(now))
        return out

    # ---------------------------------------------------------------- widget
    def _table_html(self) -> str:
        with self._lock:
            rows = "".join(f"<tr><td>{k}</td><td>{n}</td><td>{s}</td></tr>"
                           for (k, n), s in sorted(self.current.items()))
        elapsed = time.monotonic() - self._start
        state = tr("stopped") if self._stop.is_set() else \
            tr("watching… {elapsed:.0f}/{seconds:.0f} s", elapsed=elapsed, seconds=self.seconds)
        return (f"<b>{state}</b><table><tr><th>{tr('kind')}</th><th>{tr('name')}</th>"
                f"<th>{tr('now')}</th></tr>{rows}</table>")

    def _show_widget(self) -> None:
        try:
            import ipywidgets
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is None:
            return
        self._widget = ipywidgets.HTML(self._table_html())
        display(self._widget)

    def _refresh_widget(self, final: bool = False) -> None:
        if self._widget is not None:
            self._widget.value = self._table_html()
        for listener in self._listeners:
            try:
                listener(final)
            except Exception as e:  # noqa: BLE001 - a picture must never break the lesson
                if final:
                    print(tr("(the chart could not be drawn: {error})", error=e))
