"""Feedback while kubelab waits: what it is waiting for, what the cluster just did (the
Events of the objects concerned: Scheduled, Pulling, Pulled, Started, BackOff, ...), and a
clear stop when the cluster says the wait cannot succeed (an image that cannot be pulled,
a container in a crash loop, a quota or an admission refusal), instead of a silent
timeout.

Nothing is shown for a wait that ends within QUIET seconds. After that, in a notebook, one
display (a display handle, updated in place, at most every REFRESH seconds) shows the
wait; when the wait ends it shrinks to one summary line, so a saved notebook keeps a line,
not a log. Elsewhere (a terminal, a test) short lines are printed, at most every
PRINT_EVERY seconds.

The pieces that read the cluster's answers are plain functions over API dicts
(`event_from`, `stop_reason`, `pods_state`, `summarize`), tested without a cluster.
"""
from __future__ import annotations

import calendar
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable

from kubelab._cluster.readiness import pod_ready
from kubelab._base.errors import WaitStopped
from kubelab._base.i18n import N_, tr

QUIET = 2.0          # a wait shorter than this shows nothing
REFRESH = 1.0        # a notebook display is redrawn at most this often
PRINT_EVERY = 2.0    # printed lines come at most this often
EVENTS_EVERY = 2.0   # the namespace's Events are read at most this often
SHOWN_EVENTS = 5     # the last few events are shown while waiting

# A container waiting for one of these reasons will not get further by itself.
HOPELESS = {
    "ImagePullBackOff": N_("the image cannot be pulled: check its name and tag, and that "
                           "the nodes can reach its registry (`kubectl describe pod {name}` "
                           "shows the pull error)."),
    "ErrImageNeverPull": N_("the image is not on the node and imagePullPolicy is Never."),
    "InvalidImageName": N_("the image name is not valid: check its spelling."),
    "CrashLoopBackOff": N_("the container keeps exiting: `kubectl logs {name} --previous` "
                           "shows what it printed before it stopped."),
    "CreateContainerConfigError": N_("the container refers to something missing (a "
                                     "ConfigMap, a Secret, a key): `kubectl describe pod "
                                     "{name}` names it."),
    "CreateContainerError": N_("the runtime cannot create the container: `kubectl "
                               "describe pod {name}` says why."),
}
# ... and how long a reason must last before it counts (a first crash is restarted at
# once; a missing ConfigMap may be created a moment later).
GRACE = {"CreateContainerConfigError": 10.0, "CreateContainerError": 10.0}
CRASHES_BEFORE_STOP = 3
REFUSAL_GRACE = 5.0   # a refusal must stand this long, with no success after it


@dataclass
class ClusterEvent:
    """One core/v1 Event, reduced to what a learner reads."""
    key: str           # uid and resourceVersion: a repeated event is a new occurrence
    kind: str          # of the object it is about
    name: str
    reason: str
    message: str
    type: str = "Normal"
    count: int = 1
    when: float | None = None    # epoch seconds of its last occurrence

    def line(self, start: float | None = None) -> str:
        at = f"+{self.when - start:4.0f}s " if start is not None and self.when else ""
        return f"{at}{self.kind.lower()}/{self.name}  {self.reason}: {_short(self.message)}"


def _short(text: str, width: int = 110) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 1] + "…"


def _epoch(stamp: str | None) -> float | None:
    """'2026-01-02T03:04:05Z' or '...05.123456Z' -> epoch seconds (None if absent)."""
    if not stamp:
        return None
    try:
        main = stamp.rstrip("Z").split(".")[0]
        return float(calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return None


def event_from(obj: dict) -> ClusterEvent:
    """A core/v1 Event as the API returns it (events written through events.k8s.io have
    no lastTimestamp or count, but a series or an eventTime)."""
    meta = obj.get("metadata") or {}
    involved = obj.get("involvedObject") or obj.get("regarding") or {}
    series = obj.get("series") or {}
    when = (_epoch(series.get("lastObservedTime")) or _epoch(obj.get("lastTimestamp"))
            or _epoch(obj.get("eventTime")) or _epoch(obj.get("firstTimestamp"))
            or _epoch(meta.get("creationTimestamp")))
    count = series.get("count") or obj.get("count") or obj.get("deprecatedCount") or 1
    return ClusterEvent(key=f"{meta.get('uid', meta.get('name'))}@"
                            f"{meta.get('resourceVersion', '')}",
                        kind=involved.get("kind", ""), name=involved.get("name", ""),
                        reason=obj.get("reason", ""),
                        message=obj.get("message") or obj.get("note") or "",
                        type=obj.get("type", "Normal"), count=int(count), when=when)


def related(event: ClusterEvent, roots: Iterable[str]) -> bool:
    """An event is about the wait when its object is one of `roots` or named after one
    (Deployment web -> ReplicaSet web-5d8f -> Pod web-5d8f-x2kq)."""
    return any(event.name == r or event.name.startswith(r + "-") for r in roots if r)


def roots_of(kind: str, name: str | None, selector: str | None,
             objects: Iterable[dict]) -> set[str]:
    """The names whose events concern a wait: the objects followed, their owners, the
    name waited for, and the values of an equality selector (app=web -> web)."""
    roots = {name} if name else set()
    for part in (selector or "").split(","):
        if "=" in part and "!" not in part:
            roots.add(part.split("=")[-1].strip())
    for obj in objects:
        meta = obj.get("metadata") or {}
        roots.add(meta.get("name", ""))
        roots.update(o.get("name", "") for o in meta.get("ownerReferences") or [])
    roots.discard("")
    return roots


def summarize(events: Iterable[ClusterEvent]) -> str:
    """'3 Scheduled, 3 Pulling, 3 Pulled, 3 Started' in the order they first happened."""
    counts: Counter = Counter()
    for e in events:
        counts[e.reason] += 1
    return ", ".join(f"{n} {reason}" for reason, n in counts.items())


def _waiting_reasons(pod: dict) -> list[tuple[str, dict]]:
    st = pod.get("status") or {}
    out = []
    for cs in (st.get("initContainerStatuses") or []) + (st.get("containerStatuses") or []):
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            out.append((waiting["reason"], cs))
    return out


def pods_state(pods: Iterable[dict]) -> str:
    """'2/3 Ready; 1 ContainerCreating' (terminating pods are counted apart)."""
    pods = list(pods)
    live = [p for p in pods if not (p.get("metadata") or {}).get("deletionTimestamp")]
    ready = sum(pod_ready(p) for p in live)
    others: Counter = Counter()
    for p in live:
        if pod_ready(p):
            continue
        reasons = _waiting_reasons(p)
        others[reasons[0][0] if reasons else (p.get("status") or {}).get("phase", "Pending")] += 1
    parts = [tr("{ready}/{total} Ready", ready=ready, total=len(live))]
    parts += [f"{n} {why}" for why, n in others.items()]
    leaving = len(pods) - len(live)
    if leaving:
        parts.append(tr("{count} terminating", count=leaving))
    return "; ".join(parts)


def object_state(kind: str, objects: Iterable[dict]) -> str:
    """One short phrase for what the followed objects are now."""
    objects = list(objects)
    if kind.lower() in ("pod", "pods", "po"):
        return pods_state(objects)
    if kind.lower() in ("deployment", "deployments", "deploy") and objects:
        spec, st = objects[0].get("spec") or {}, objects[0].get("status") or {}
        return tr("{updated}/{want} updated, {ready}/{want} ready",
                  updated=st.get("updatedReplicas", 0), ready=st.get("readyReplicas", 0),
                  want=spec.get("replicas", 1))
    return tr("{count} {kind} now", count=len(objects), kind=kind)


@dataclass
class Stop:
    """Why a wait cannot succeed."""
    reason: str
    kind: str
    name: str
    message: str
    fix: str

    def problem(self, what: str) -> str:
        return tr("stopped waiting for {what}: {kind}/{name} is {reason}: {message}",
                  what=what, kind=self.kind.lower(), name=self.name, reason=self.reason,
                  message=_short(self.message, 300))


def _is_refusal(e: ClusterEvent) -> bool:
    text = e.message.lower()
    return e.reason == "FailedCreate" and ("exceeded quota" in text or "forbidden" in text
                                           or "denied" in text)


def stop_reason(events: list[ClusterEvent], pods: Iterable[dict], *, now: float,
                first_seen: dict[str, float]) -> Stop | None:
    """The first reason, among pods followed and events seen, that the wait cannot
    succeed; None while there is hope. `first_seen` remembers since when each
    (pod, reason) has been seen (a reason with a grace must last that long)."""
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        for reason, cs in _waiting_reasons(pod):
            if reason not in HOPELESS:
                continue
            since = first_seen.setdefault(f"{meta.get('name')}/{reason}", now)
            if now - since < GRACE.get(reason, 0.0):
                continue
            if reason == "CrashLoopBackOff" and cs.get("restartCount", 0) < CRASHES_BEFORE_STOP:
                continue
            message = ((cs.get("state") or {}).get("waiting") or {}).get("message", "")
            return Stop(reason, "Pod", meta.get("name", ""), message,
                        tr(HOPELESS[reason], name=meta.get("name", "")))
    for e in events:
        text = e.message.lower()
        if e.reason == "BackOff" and "pull" in text:
            return Stop("ImagePullBackOff", e.kind, e.name, e.message,
                        tr(HOPELESS["ImagePullBackOff"], name=e.name))
        if e.reason == "BackOff" and "restarting" in text and e.count >= CRASHES_BEFORE_STOP:
            return Stop("CrashLoopBackOff", e.kind, e.name, e.message,
                        tr(HOPELESS["CrashLoopBackOff"], name=e.name))
    refusals = [e for e in events if _is_refusal(e)]
    if refusals:
        last = refusals[-1]
        since = first_seen.setdefault(f"{last.kind}/{last.name}/refused", now)
        later_success = any(e.reason.startswith("Successful") and e.name == last.name
                            and (e.when or 0) > (last.when or 0) for e in events)
        if now - since >= REFUSAL_GRACE and not later_success:
            return Stop(tr("refused"), last.kind, last.name, last.message,
                        tr("the API server refused to create it (a ResourceQuota or an "
                           "admission rule): `kubectl describe quota` and `kubectl get "
                           "events` say which limit."))
    return None


# ------------------------------------------------------------------ the cluster's Events
class EventSource:
    """The Events of one namespace, read at most every EVENTS_EVERY seconds; remembers
    which it has already returned."""

    def __init__(self, dynamic, namespace: str, *, recent: float = 10.0) -> None:  # noqa: ANN001
        self.namespace = namespace
        self._resource = None
        try:
            self._resource = dynamic.resources.get(api_version="v1", kind="Event")
        except Exception:  # noqa: BLE001 - no events: the wait goes on without them
            self._resource = None
        self._seen: set[str] = set()
        self._last_read = 0.0
        self.start = time.time()
        # events from just before the wait began belong to it (the apply that led here)
        self._since = self.start - recent

    def _list(self) -> list[dict]:
        if self._resource is None:
            return []
        try:
            return self._resource.get(namespace=self.namespace).to_dict().get("items") or []
        except Exception:  # noqa: BLE001 - events are a help, never a reason to fail
            return []

    def poll(self, force: bool = False) -> list[ClusterEvent]:
        """Events not returned before (a repeated event counts again)."""
        now = time.monotonic()
        if not force and self._last_read and now - self._last_read < EVENTS_EVERY:
            return []
        self._last_read = now
        fresh = []
        for obj in self._list():
            e = event_from(obj)
            if e.key in self._seen:
                continue
            self._seen.add(e.key)
            if e.when is None or e.when >= self._since:
                fresh.append(e)
        return sorted(fresh, key=lambda e: e.when or 0)


# ------------------------------------------------------------------ showing it
def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class Display:
    """One updatable output in a notebook, or short printed lines elsewhere."""

    def __init__(self, printer: Callable[[str], None] | None = None) -> None:
        self.notebook = printer is None and _in_notebook()
        self._print = printer or (lambda line: print(line, flush=True))
        self._handle = None
        self._last = 0.0
        self._printed = 0        # events already printed (terminal mode)

    def show(self, text: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < (REFRESH if self.notebook else PRINT_EVERY):
            return
        self._last = now
        if self.notebook:
            from IPython.display import display
            data = {"text/plain": text}
            if self._handle is None:
                self._handle = display(data, raw=True, display_id=True)
            else:
                self._handle.update(data, raw=True)
        else:
            self._print(text)

    @property
    def shown(self) -> bool:
        return self._last > 0


class Waiting:
    """A wait made visible. Call `tick(...)` from the waiting loop as often as it likes
    (it throttles itself); it raises WaitStopped when the cluster says the wait cannot
    succeed. Call `finish(ok)` at the end."""

    def __init__(self, what: str, timeout: float, *, events: EventSource | None = None,
                 show: bool = True, stop_on: bool = True,
                 printer: Callable[[str], None] | None = None) -> None:
        self.what, self.timeout = what, timeout
        self.events_source = events
        self.events: list[ClusterEvent] = []
        self.show, self.stop_on = show, stop_on
        self.started = time.monotonic()
        self.state = ""
        self.stop: Stop | None = None
        self._first_seen: dict[str, float] = {}
        self._display = Display(printer) if show else None
        self._printed_events = 0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def tick(self, *, state: str = "", pods: Iterable[dict] = (),
             roots: Iterable[str] | None = None) -> None:
        if state:
            self.state = state
        if self.events_source is not None:
            fresh = self.events_source.poll()
            if roots is not None:
                roots = set(roots)
                fresh = [e for e in fresh if related(e, roots)]
            self.events.extend(fresh)
        if self.stop_on:
            self.stop = stop_reason(self.events, pods, now=time.monotonic(),
                                    first_seen=self._first_seen)
            if self.stop is not None:
                self._render(final=True)
                raise WaitStopped(self.stop.problem(self.what), self.stop.fix)
        if self.elapsed >= QUIET:
            self._render()

    def _render(self, final: bool = False) -> None:
        if self._display is None or (final and not self._display.shown
                                     and self.elapsed < QUIET):
            return
        if self._display.notebook:
            head = tr("⏳ waiting for {what}: {elapsed:.0f} s of at most {timeout:.0f} s",
                      what=self.what, elapsed=self.elapsed, timeout=self.timeout)
            lines = [head + (f" · {self.state}" if self.state else "")]
            lines += ["   " + e.line(self.events_source.start if self.events_source else None)
                      for e in self.events[-SHOWN_EVENTS:]]
            self._display.show("\n".join(lines), force=final)
            return
        # printed lines: the head once, then what is new
        lines = []
        if not self._display.shown:
            lines.append(tr("⏳ waiting for {what} (at most {timeout:.0f} s)", what=self.what,
                            timeout=self.timeout))
        new = self.events[self._printed_events:]
        lines += ["   " + e.line() for e in new[-SHOWN_EVENTS:]]
        if not new and self.state:
            lines.append(f"   … {self.elapsed:.0f} s: {self.state}")
        if lines:
            before = self._display._last
            self._display.show("\n".join(lines), force=final)
            if self._display._last != before:
                self._printed_events = len(self.events)

    def finish(self, ok: bool) -> None:
        """End of the wait: a shown display becomes one line (or the whole story, when
        the wait failed)."""
        if self._display is None or not self._display.shown:
            return
        if ok:
            done = summarize(self.events)
            line = tr("⌛ {elapsed:.0f} s waiting for {what}", elapsed=self.elapsed,
                      what=self.what) + (f" ({done})" if done else "")
            self._display.show(line, force=True)
            return
        # what was seen, kept: the error below says why the wait ended
        lines = [tr("⌛ {elapsed:.0f} s waiting for {what}, in vain", elapsed=self.elapsed,
                    what=self.what) + (f" · {self.state}" if self.state else "")]
        if self._display.notebook:       # the display is redrawn: all of it again
            start = self.events_source.start if self.events_source else None
            lines += ["   " + e.line(start) for e in self.events[-SHOWN_EVENTS:]]
        else:                            # printed lines: only what is new
            lines += ["   " + e.line()
                      for e in self.events[self._printed_events:][-SHOWN_EVENTS:]]
        self._display.show("\n".join(lines), force=True)

    def timeout_detail(self) -> str:
        """What was seen last, for the message of a timeout."""
        warnings = [e for e in self.events if e.type == "Warning"]
        parts = [self.state] if self.state else []
        if warnings:
            parts.append(f"{warnings[-1].reason}: {_short(warnings[-1].message, 200)}")
        return "; ".join(parts)


def command_waiting(what: str, timeout: float,
                    printer: Callable[[str], None] | None = None) -> Waiting:
    """The waiting display of a command kubelab streams (kubelab._system.run's `waiting`):
    live in a notebook, printed lines elsewhere; a command's silence never stops it."""
    return Waiting(what, timeout, stop_on=False, printer=printer)
