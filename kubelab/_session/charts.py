"""Pictures of what the cluster did: where the pods landed, and how a rollout moved
ready pods from one ReplicaSet to the next. A chart here is drawn from the same data a
check reads (pods, a live view's events), so the picture and the check tell one story.

Figures are drawn with matplotlib's Agg canvas (no pyplot, no GUI, no global state) and
shown as PNG through a display handle: JupyterLab shows a live chart changing, and a
headless run (papermill, nbconvert) keeps the last picture as image/png.
"""
from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from kubelab._base.i18n import N_, tr
from kubelab._session import facts

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from kubelab._session.live import LiveView, Seen

# (time of each change, ReplicaSet -> ready pods after each change, ReplicaSet -> tag)
Moments = tuple[list[float], dict[str, list[int | None]], dict[str, str]]

_HANGUL_FONTS = ("Noto Sans CJK KR", "Noto Sans KR", "NanumGothic", "Malgun Gothic",
                 "AppleGothic", "Apple SD Gothic Neo", "UnDotum", "Baekmuk Gulim")


# ------------------------------------------------------------------ text
def _hangul_font() -> str | None:
    """A font that has Hangul, if this machine has one (DejaVu Sans, matplotlib's own,
    has none: Korean labels would come out as empty boxes)."""
    from matplotlib import font_manager
    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((n for n in _HANGUL_FONTS if n in names), None)


def label(message: str, **kwargs: object) -> str:
    """A chart's text in the learner's language, or in English when no installed font
    could draw it (a picture with boxes for letters teaches nothing)."""
    text = tr(message, **kwargs)
    if text.isascii() or _hangul_font():
        return text
    return message.format(**kwargs) if kwargs else message


def _figure(width: float, height: float) -> "Figure":
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    font = _hangul_font()
    if font:
        import matplotlib
        matplotlib.rcParams["font.family"] = ["DejaVu Sans", font]
    return fig


def png(fig: "Figure") -> bytes:
    """The figure as PNG bytes: what a notebook keeps."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor="white")
    return buf.getvalue()


class Shown:
    """The display handle of a shown figure, to update it. As a cell's last value it
    shows nothing (a bare DisplayHandle would print its id under the picture)."""

    def __init__(self, handle: object) -> None:
        self.handle = handle

    def update(self, obj: object) -> None:
        self.handle.update(obj)

    def _ipython_display_(self) -> None:
        pass


def show(fig: "Figure") -> Shown | None:
    """Show a figure as a PNG image in the notebook; returns its display handle (None
    outside IPython, where there is nowhere to show it)."""
    from IPython import get_ipython
    from IPython.display import Image, display
    if get_ipython() is None:
        return None
    return Shown(display(Image(data=png(fig), format="png"), display_id=True))


# ------------------------------------------------------------------ pods per node
def pods_per_node(counts: Mapping[str, int], title: str = "") -> "Figure":
    """Pods per node as horizontal bars, every node listed (an empty node is part of
    the story: the scheduler left it out)."""
    nodes = sorted(counts)
    fig = _figure(6.4, 0.45 * max(len(nodes), 2) + 1.2)
    ax = fig.add_subplot()
    bars = ax.barh(nodes, [counts[n] for n in nodes], color="#326ce5")
    ax.bar_label(bars, padding=3)
    ax.invert_yaxis()                  # first node on top, as kubectl lists them
    ax.set_xlabel(label(N_("pods")))
    ax.set_xlim(0, max([*counts.values(), 1]) * 1.15)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_title(title or label(N_("{count} pods on {nodes} nodes"),
                                count=sum(counts.values()), nodes=len(nodes)))
    return fig


# ------------------------------------------------------------------ rollouts
def _tag(rs: dict) -> str:
    containers = (((rs.get("spec") or {}).get("template") or {}).get("spec") or {}) \
        .get("containers") or [{}]
    image = containers[0].get("image", "")
    return image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else image


def rollout_moments(seen: Iterable["Seen"]) -> Moments:
    """From a live view's ReplicaSet events, in the order it saw them: the time of each
    change, each ReplicaSet's ready pods after it (None before the ReplicaSet was seen),
    and each ReplicaSet's image tag (which version it runs). These are the moments the
    checks in kubelab.facts reason about."""
    times: list[float] = []
    ready: dict[str, list[int | None]] = {}
    tags: dict[str, str] = {}
    now: dict[str, int] = {}
    for s in seen:
        if s.kind != "ReplicaSet" or s.event not in ("ADDED", "MODIFIED", "DELETED"):
            continue
        now[s.name] = 0 if s.event == "DELETED" else \
            int((s.obj.get("status") or {}).get("readyReplicas") or 0)
        if s.obj:
            tags[s.name] = _tag(s.obj)
        if s.name not in ready:
            ready[s.name] = [None] * len(times)
        times.append(s.at)
        for name, counts in ready.items():
            counts.append(now.get(name))
    return times, ready, tags


def total_ready(ready: dict[str, list[int | None]]) -> list[int]:
    """Ready pods of all ReplicaSets together after each change: what users are served
    by (zero is downtime)."""
    columns = zip(*ready.values()) if ready else ()
    return [sum(r or 0 for r in column) for column in columns]


PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")


def _colors(tags: Iterable[str]) -> dict[str, str]:
    """One colour per version (image tag), the same in every panel."""
    return {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(sorted(set(tags)))}


def _draw_rollout(ax: "Axes", seen: list["Seen"], title: str, until: int = 0,
                  colors: dict[str, str] | None = None) -> None:
    """One step per change the view saw, in order, not per second: on a fast cluster a
    whole rollout takes milliseconds, and a time axis would draw it as one wall."""
    times, ready, tags = rollout_moments(seen)
    colors = colors or _colors(tags.values())
    end = max(len(times), until, 1)
    shown = {n: rs for n, rs in ready.items() if any(rs)}
    total = total_ready(shown)
    xs = [*range(len(times)), end]
    if total:   # drawn first, wide and pale, so the ReplicaSets' lines stay readable
        ax.step(xs, [*total, total[-1]], where="post", color="gray", alpha=0.35,
                linewidth=6, zorder=1, label=label(N_("all ready pods")))
    for name, counts in shown.items():
        tag = tags.get(name, "?")
        ys = [float("nan") if r is None else r for r in counts]
        ax.step(xs, [*ys, ys[-1]], where="post", linewidth=2.2, zorder=2,
                color=colors.get(tag, "black"), label=f"{name} ({tag})")
    span = f"{times[-1] - times[0]:.1f}" if times else "0"
    heading = label(N_("{count} changes in {seconds} s"), count=len(times), seconds=span)
    ax.set_title(f"{title} · {heading}" if title else heading)
    ax.set_xlim(0, end)
    ax.set_ylim(-0.2, max([*total, 1]) + 1)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel(label(N_("changes the live view saw, in order")))
    ax.set_ylabel(label(N_("ready pods")))
    ax.grid(alpha=0.3)
    if shown:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2,
                  fontsize="small", frameon=False)
    else:
        ax.text(0.5, 0.5, label(N_("no ready pods seen yet")), transform=ax.transAxes,
                ha="center", va="center", color="gray")


def rollout(seen: list["Seen"], title: str = "") -> "Figure":
    """Ready pods of each ReplicaSet after each change during one rollout, with their
    sum."""
    fig = _figure(7.2, 4.0)
    _draw_rollout(fig.add_subplot(), seen, title)
    return fig


def rollouts(views: Mapping[str, list["Seen"]]) -> "Figure":
    """Several rollouts side by side on the same scales and colours (RollingUpdate next
    to Recreate), so the difference is in the shape of the lines, not in the axes."""
    fig = _figure(5.2 * len(views), 4.2)
    axes = fig.subplots(1, len(views), sharey=True, squeeze=False)[0]
    moments = [rollout_moments(seen) for seen in views.values()]
    longest = max(len(times) for times, _, _ in moments) if moments else 1
    colors = _colors(t for _, _, tags in moments for t in tags.values())
    for ax, (title, seen) in zip(axes, views.items()):
        _draw_rollout(ax, list(seen), title, longest, colors)
    top = max([r for _, ready, _ in moments for r in total_ready(ready)] + [1])
    axes[0].set_ylim(-0.2, top + 1)      # shared: room for the highest of them
    return fig


# ------------------------------------------------------------------ boxes and arrows
# A map is drawn in columns (Service | EndpointSlice | pods | nodes), one row per pod.
# Every box and arrow carries a gid ("pod:web-1", "arrow:slice:web-x->pod:web-1"), so a
# test can ask which boxes a picture has and how each one is drawn.
_BOX_W, _BOX_H = 0.82, 0.78
_LIGHT = {"#1f77b4": "#c6dbef", "#ff7f0e": "#fdd0a2", "#2ca02c": "#c7e9c0",
          "#d62728": "#fcbba1", "#9467bd": "#dadaeb"}
_NEUTRAL = "#e8eef9"


def _canvas(columns: int, rows: int, width: float = 10.0) -> tuple["Figure", "Axes"]:
    fig = _figure(width, 0.62 * max(rows, 2) + 1.3)
    ax = fig.add_subplot()
    ax.set_xlim(-0.5, columns - 0.5)
    ax.set_ylim(0, max(rows, 1))
    ax.set_axis_off()
    return fig, ax


def _box(ax: "Axes", x: float, y: float, text: str, gid: str, *, face: str = _NEUTRAL,
         edge: str = "#333333", dashed: bool = False, height: float = _BOX_H) -> None:
    from matplotlib.patches import FancyBboxPatch
    ax.add_patch(FancyBboxPatch((x - _BOX_W / 2, y - height / 2), _BOX_W, height,
                                boxstyle="round,pad=0,rounding_size=0.06", gid=gid,
                                facecolor=face, edgecolor=edge, linewidth=1.4,
                                linestyle="--" if dashed else "-"))
    ax.text(x, y, text, ha="center", va="center", fontsize=7.5, gid=f"{gid}:text",
            color="#555555" if dashed else "black")


def _arrow(ax: "Axes", start: tuple[float, float], end: tuple[float, float], gid: str, *,
           dashed: bool = False, color: str = "#333333") -> None:
    from matplotlib.patches import FancyArrowPatch
    (x0, y0), (x1, y1) = start, end
    ax.add_patch(FancyArrowPatch((x0 + _BOX_W / 2, y0), (x1 - _BOX_W / 2, y1), gid=gid,
                                 arrowstyle="-|>", mutation_scale=10, shrinkA=0,
                                 shrinkB=1, linewidth=1.6 if not dashed else 1.1,
                                 linestyle="--" if dashed else "-", color=color))


def _rows(count: int, rows: float) -> list[float]:
    """Centres of `count` boxes spread over `rows` rows, top first."""
    return [rows - (i + 0.5) * rows / count for i in range(count)] if count else []


def _short(name: str, keep: int = 26) -> str:
    return name if len(name) <= keep else name[:keep - 1] + "…"


def _node_colors(nodes: Iterable[str]) -> dict[str, str]:
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(sorted(set(nodes)))}


def _endpoint_state(endpoint: dict) -> str:
    """'ready', 'terminating' or 'not ready': what the Service does with it."""
    conditions = endpoint.get("conditions") or {}
    if conditions.get("ready"):
        return "ready"
    return "terminating" if conditions.get("terminating") else "not ready"


_STATE_TEXT = {"ready": N_("ready"), "not ready": N_("not ready"),
               "terminating": N_("terminating")}


def service_map(service: dict, slices: Iterable[dict], nodes: Iterable[str] = (),
                history: Iterable[int] = ()) -> "Figure":
    """Service → its EndpointSlices → the pods they list → the nodes those run on, as
    the API objects say (an endpoint names its pod and its node). Pods are coloured by
    node; a ready endpoint is a full box with a solid arrow, one that is not ready (or
    is terminating) an empty dashed box with a dashed arrow: the Service sends it
    nothing. `history`, the ready endpoints after each change a live view saw, is
    written under the picture."""
    spec = service.get("spec") or {}
    name = service["metadata"]["name"]
    slices = sorted(slices, key=lambda s: s["metadata"]["name"])
    pods = []              # (slice name, pod name, address, node, state)
    for s in slices:
        for e in s.get("endpoints") or []:
            ref = e.get("targetRef") or {}
            address = ",".join(e.get("addresses") or [])
            pods.append((s["metadata"]["name"], ref.get("name") or address, address,
                         e.get("nodeName") or "?", _endpoint_state(e)))
    node_names = sorted(set(nodes) | {p[3] for p in pods})
    colors = _node_colors(node_names)
    pods.sort(key=lambda p: (node_names.index(p[3]), p[1]))
    empty = [n for n in node_names if n not in {p[3] for p in pods}]
    rows = max(len(pods) + len(empty), len(slices), 1)
    fig, ax = _canvas(4, rows)

    pod_y = dict(zip((p[1] for p in pods), _rows(rows, rows)))
    node_y = {n: sum(pod_y[p[1]] for p in pods if p[3] == n) / sum(p[3] == n for p in pods)
              for n in node_names if n not in empty}
    node_y.update(zip(empty, _rows(rows, rows)[len(pods):]))
    slice_y = dict(zip((s["metadata"]["name"] for s in slices), _rows(len(slices), rows)))
    service_y = rows / 2

    port = (spec.get("ports") or [{}])[0]
    _box(ax, 0, service_y, f"Service {name}\n{spec.get('type', 'ClusterIP')} "
         f"{spec.get('clusterIP', '')}\n:{port.get('port', '?')} → "
         f":{port.get('targetPort', '?')}", f"service:{name}", height=min(1.2, rows * 0.9))
    for s in slices:
        sname = s["metadata"]["name"]
        mine = [p for p in pods if p[0] == sname]
        _box(ax, 1, slice_y[sname], f"EndpointSlice\n{_short(sname)}\n" + label(
            N_("{ready} of {count} ready"), ready=sum(p[4] == "ready" for p in mine),
            count=len(mine)), f"slice:{sname}")
        _arrow(ax, (0, service_y), (1, slice_y[sname]), f"arrow:service:{name}->slice:{sname}")
    for sname, pod, address, node, state in pods:
        color, ready = colors[node], state == "ready"
        _box(ax, 2, pod_y[pod], f"{_short(pod)}\n{address} · {label(_STATE_TEXT[state])}",
             f"pod:{pod}", face=_LIGHT.get(color, _NEUTRAL) if ready else "white",
             edge=color, dashed=not ready)
        _arrow(ax, (1, slice_y[sname]), (2, pod_y[pod]), f"arrow:slice:{sname}->pod:{pod}",
               dashed=not ready, color="#333333" if ready else "#999999")
        _arrow(ax, (2, pod_y[pod]), (3, node_y[node]), f"arrow:pod:{pod}->node:{node}",
               color=color)
    for node in node_names:
        count = sum(p[3] == node for p in pods)
        _box(ax, 3, node_y[node], f"{label(N_('node'))} {_short(node)}\n" +
             label(N_("pods of this Service: {count}"), count=count), f"node:{node}",
             face=_LIGHT.get(colors[node], _NEUTRAL), edge=colors[node])

    ready = sum(p[4] == "ready" for p in pods)
    ax.set_title(label(N_("Service {name}: {ready} of {count} endpoints ready"),
                       name=name, ready=ready, count=len(pods)))
    notes = [label(N_("solid: a ready endpoint, the Service sends to it; dashed: not "
                      "ready, it sends nothing"))]
    history = list(history)
    if history:
        notes.append(label(N_("ready endpoints after each change: {steps}"),
                           steps=" → ".join(map(str, _squeeze(history)))))
    fig.supxlabel("\n".join(notes), fontsize=8, color="#444444").set_gid("notes")
    return fig


def _squeeze(values: list[int]) -> list[int]:
    """3 3 1 1 3 -> 3 1 3: a step per change of the count."""
    return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]


def _selects(selector: Mapping[str, str] | None, pod: dict) -> bool:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def ingress_map(ingress: dict, services: Iterable[dict], pods: Iterable[dict]) -> "Figure":
    """Ingress → its rules (host and path) → the Services they name → the pods those
    Services select. One box per Service however many rules name it; a rule naming a
    Service that does not exist points at a dashed box."""
    name = ingress["metadata"]["name"]
    spec = ingress.get("spec") or {}
    rules = [(host, path, service) for (host, path), service in
             facts.ingress_routes(ingress).items()]
    by_name = {s["metadata"]["name"]: s for s in services}
    pods = [p for p in pods if not facts.is_leaving(p)]
    named = list(dict.fromkeys(r[2] for r in rules))
    picked = {s: sorted((p for p in pods if _selects(
        ((by_name.get(s) or {}).get("spec") or {}).get("selector"), p)),
        key=lambda p: p["metadata"]["name"]) for s in named}
    rows = max(sum(max(len(picked[s]), 1) for s in named), len(rules), 1)
    fig, ax = _canvas(4, rows)
    colors = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(named)}

    service_y, pod_y, top = {}, {}, rows
    for s in named:               # each Service gets as many rows as it has pods
        block = max(len(picked[s]), 1)
        ys = [top - i - 0.5 for i in range(block)]
        service_y[s] = sum(ys) / len(ys)
        pod_y.update((p["metadata"]["name"], y) for p, y in zip(picked[s], ys))
        top -= block
    ingress_y = rows / 2
    address = facts.external_address(ingress)
    _box(ax, 0, ingress_y, f"Ingress {name}\n" + (
        label(N_("class {name}"), name=spec["ingressClassName"])
        if spec.get("ingressClassName") else label(N_("default class"))) + "\n" + (
        f"ADDRESS {address}" if address else label(N_("no ADDRESS yet"))),
        f"ingress:{name}", height=min(1.2, rows * 0.9))
    for (host, path, service), y in zip(rules, _rows(len(rules), rows)):
        rule = f"{host or '*'}{path}"
        kind = facts.path_type(ingress, host, path) or ""
        _box(ax, 1, y, f"{host or '*'}\n{path}  ({kind})", f"rule:{rule}")
        _arrow(ax, (0, ingress_y), (1, y), f"arrow:ingress:{name}->rule:{rule}")
        _arrow(ax, (1, y), (2, service_y[service]), f"arrow:rule:{rule}->service:{service}",
               color=colors[service])
    for s in named:
        svc = by_name.get(s)
        if svc is None:
            _box(ax, 2, service_y[s], f"Service {s}\n" + label(N_("(no such Service)")),
                 f"service:{s}", face="white", edge="#999999", dashed=True)
            continue
        sspec = svc.get("spec") or {}
        port = (sspec.get("ports") or [{}])[0]
        _box(ax, 2, service_y[s], f"Service {s}\n{sspec.get('type', 'ClusterIP')} "
             f":{port.get('port', '?')} → :{port.get('targetPort', '?')}", f"service:{s}",
             face=_LIGHT.get(colors[s], _NEUTRAL), edge=colors[s])
        for p in picked[s]:
            pod, ready = p["metadata"]["name"], facts.is_ready(p)
            state = label(_STATE_TEXT["ready" if ready else "not ready"])
            _box(ax, 3, pod_y[pod], f"{_short(pod)}\n{state}", f"pod:{pod}",
                 face=_LIGHT.get(colors[s], _NEUTRAL) if ready else "white",
                 edge=colors[s], dashed=not ready)
            _arrow(ax, (2, service_y[s]), (3, pod_y[pod]), f"arrow:service:{s}->pod:{pod}",
                   dashed=not ready, color=colors[s] if ready else "#999999")
    ax.set_title(label(N_("Ingress {name}: {routes} routes to {services} Services"),
                       name=name, routes=len(rules), services=len(named)))
    if not address:
        fig.supxlabel(label(N_("the rules are stored; only an Ingress controller "
                               "would route by them")), fontsize=8,
                      color="#444444").set_gid("notes")
    return fig


# ------------------------------------------------------------------ shares
def canary_share(endpoints: Mapping[str, int], answers: Mapping[str, int] | None = None,
                 canary: str = "canary") -> "Figure":
    """Each track's share (stable, canary) as one bar of 100%: of the Service's ready
    endpoints, and, when counted, of the answers to requests. The canary comes last."""
    rows = [(label(N_("ready endpoints")), dict(endpoints))]
    if answers is not None:
        rows.append((label(N_("answers")), dict(answers)))
    tracks = sorted(dict.fromkeys(t for _, counts in rows for t in counts),
                    key=lambda t: t == canary)
    colors = {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(tracks)}
    fig = _figure(7.2, 0.7 * len(rows) + 1.6)
    ax = fig.add_subplot()
    names = [r[0] for r in rows]
    left = [0.0] * len(rows)
    for track in tracks:
        counts = [r[1].get(track, 0) for r in rows]
        widths = [100 * c / (sum(r[1].values()) or 1) for c, r in zip(counts, rows)]
        bars = ax.barh(names, widths, left=left, color=colors[track], label=track,
                       height=0.6)
        ax.bar_label(bars, labels=[f"{track} {c} ({w:.0f}%)" if c else ""
                                   for c, w in zip(counts, widths)],
                     label_type="center", color="white", fontsize=9, fontweight="bold")
        left = [a + w for a, w in zip(left, widths)]
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(label(N_("share (%)")))
    share = endpoints.get(canary, 0) / (sum(endpoints.values()) or 1)
    ax.set_title(label(N_("{track}: {share} of the ready endpoints"), track=canary,
                       share=f"{share:.0%}"))
    return fig


# ------------------------------------------------------------------ live
class LiveChart:
    """A chart that follows a LiveView. While the view watches, a thread of its own
    redraws it (at most every `every` seconds), so drawing never holds up the view's
    watch; when the view stops, the cell's own thread draws the final picture, which is
    what the saved notebook keeps."""

    def __init__(self, view: "LiveView", draw: Callable[[list["Seen"]], "Figure"],
                 every: float = 1.0) -> None:
        self.view, self.draw, self.every = view, draw, every
        self._lock = threading.Lock()
        self._dirty, self._done = threading.Event(), threading.Event()
        self.figure = draw(list(view.seen))
        self.handle = show(self.figure)
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()
        view.on_change(self.changed)

    def changed(self, final: bool = False) -> None:
        """The view saw a change (final: it stopped)."""
        if not final:
            self._dirty.set()
            return
        self._done.set()
        self._dirty.set()
        self._thread.join(timeout=5)
        self.redraw()

    def _follow(self) -> None:
        while not self._done.is_set():
            self._dirty.wait()
            if self._done.is_set():
                return
            self._dirty.clear()
            try:
                self.redraw()
            except Exception:  # noqa: BLE001 - the final redraw reports; this one may not
                pass
            self._done.wait(self.every)

    def redraw(self) -> None:
        with self._lock:
            self.figure = self.draw(list(self.view.seen))
            if self.handle is not None:
                from IPython.display import Image
                self.handle.update(Image(data=png(self.figure), format="png"))


def follow_rollout(view: "LiveView", title: str) -> LiveChart:
    """Draw the rollout that `view` watches (its ReplicaSet events), live."""
    return LiveChart(view, lambda seen: rollout(seen, title))


def follow_service(view: "LiveView", service: dict, nodes: Iterable[str] = (),
                   slices: Iterable[dict] = ()) -> LiveChart:
    """Draw `service`'s map from the EndpointSlices `view` watches, live: pods leave and
    arrive as the view sees them. `slices` are the EndpointSlices before the view began
    (drawn until it has seen its own)."""
    nodes, start = list(nodes), {s["metadata"]["name"]: s for s in slices}

    def draw(seen: list["Seen"]) -> "Figure":
        now, history = dict(start), []
        for s in seen:
            if s.kind != "EndpointSlice" or s.event not in ("ADDED", "MODIFIED", "DELETED"):
                continue
            if s.event == "DELETED":
                now.pop(s.name, None)
            else:
                now[s.name] = s.obj
            history.append(len(facts.ready_addresses(now.values())))
        return service_map(service, now.values(), nodes, history)
    return LiveChart(view, draw)
