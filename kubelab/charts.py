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

from .i18n import N_, tr

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .live import LiveView, Seen

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


def show(fig: "Figure") -> object:
    """Show a figure as a PNG image in the notebook; returns the display handle (None
    outside IPython, where there is nowhere to show it)."""
    from IPython import get_ipython
    from IPython.display import Image, display
    if get_ipython() is None:
        return None
    return display(Image(data=png(fig), format="png"), display_id=True)


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
