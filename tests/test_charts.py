"""kubelab._session.charts draws from recorded data: the bars and lines must say what the data
says, and the PNG a notebook keeps must be a real picture."""
from __future__ import annotations

import io
import struct
import threading

from kubelab._session import charts
from kubelab._session.live import LiveView, Seen


def rs(name: str, image: str, want: int, ready: int) -> dict:
    return {"metadata": {"name": name},
            "spec": {"replicas": want,
                     "template": {"spec": {"containers": [{"image": image}]}}},
            "status": {"replicas": want, "readyReplicas": ready}}


OLD, NEW = "registry.k8s.io/e2e-test-images/agnhost:2.59", \
    "registry.k8s.io/e2e-test-images/agnhost:2.63.0"


def seen(at: float, name: str, image: str, want: int, ready: int,
         event: str = "MODIFIED") -> Seen:
    return Seen(at, event, "ReplicaSet", name, "", rs(name, image, want, ready))


# A RollingUpdate with maxSurge 1, maxUnavailable 0, as 05b's live view records it.
ROLLING = [seen(0.0, "web-old", OLD, 4, 4, "ADDED"),
           seen(0.5, "web-new", NEW, 1, 0, "ADDED"),
           seen(2.0, "web-new", NEW, 1, 1), seen(2.1, "web-old", OLD, 3, 3),
           seen(3.0, "web-new", NEW, 2, 2), seen(3.1, "web-old", OLD, 2, 2),
           seen(4.0, "web-new", NEW, 3, 3), seen(4.1, "web-old", OLD, 1, 1),
           seen(5.0, "web-new", NEW, 4, 4), seen(5.1, "web-old", OLD, 0, 0)]
# A Recreate: the old ReplicaSet goes to 0 before the new one starts.
RECREATE = [seen(0.0, "web-new", NEW, 4, 4, "ADDED"),
            seen(0.0, "web-old", OLD, 0, 0, "ADDED"),
            seen(1.0, "web-new", NEW, 0, 0), seen(3.0, "web-old", OLD, 4, 0),
            seen(4.5, "web-old", OLD, 4, 4)]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_pods_per_node_bars_are_the_counts_with_empty_nodes_kept():
    fig = charts.pods_per_node({"kubelab-m02": 2, "kubelab": 4, "kubelab-m03": 0})
    ax = fig.axes[0]
    bars = {t.get_text(): p.get_width()
            for t, p in zip(ax.get_yticklabels(), ax.patches)}
    assert bars == {"kubelab": 4, "kubelab-m02": 2, "kubelab-m03": 0}
    assert ax.get_title() == "6 pods on 3 nodes"
    labels = [t.get_text() for t in ax.texts]      # the count written at each bar
    assert labels == ["4", "2", "0"]


def test_pods_per_node_png_is_a_real_picture():
    data = charts.png(charts.pods_per_node({"a": 3, "b": 3}))
    width, height = png_size(data)
    assert (width, height) == (640, 210)
    assert len(data) > 5000


def test_rollout_moments_follow_each_replicaset_in_the_order_seen():
    times, ready, tags = charts.rollout_moments(ROLLING + [
        Seen(6.0, "ERROR", "ReplicaSet", "-", "watch dropped"),
        Seen(6.5, "DELETED", "ReplicaSet", "web-old", "", rs("web-old", OLD, 0, 0))])
    assert times == [0.0, 0.5, 2.0, 2.1, 3.0, 3.1, 4.0, 4.1, 5.0, 5.1, 6.5]
    assert ready["web-new"] == [None, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4]
    assert ready["web-old"] == [4, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0]
    assert tags == {"web-old": "2.59", "web-new": "2.63.0"}


def test_total_ready_shows_the_downtime_of_recreate_only():
    rolling = charts.total_ready(charts.rollout_moments(ROLLING)[1])
    recreate = charts.total_ready(charts.rollout_moments(RECREATE)[1])
    assert rolling == [4, 4, 5, 4, 5, 4, 5, 4, 5, 4]      # surge 1, never below 4
    assert recreate == [4, 4, 0, 0, 4]


def test_total_ready_keeps_the_order_of_changes_made_in_the_same_instant():
    # a fast cluster (the sandbox) makes a whole rollout in one timestamp: the sum
    # must follow the events' order, not sort them by name or count
    burst = [seen(1.0, "b", NEW, 1, 1), seen(1.0, "a", OLD, 3, 3),
             seen(1.0, "b", NEW, 2, 2), seen(1.0, "a", OLD, 2, 2)]
    start = [seen(0.0, "a", OLD, 4, 4, "ADDED")]
    assert charts.total_ready(charts.rollout_moments(start + burst)[1]) == [4, 5, 4, 5, 4]


def test_rollout_lines_are_the_ready_counts_of_each_replicaset():
    fig = charts.rollout(ROLLING, "RollingUpdate")
    ax = fig.axes[0]
    lines = {ln.get_label(): (list(ln.get_xdata()), list(ln.get_ydata()))
             for ln in ax.get_lines()}
    assert set(lines) == {"web-old (2.59)", "web-new (2.63.0)", "all ready pods"}
    xs, ys = lines["web-new (2.63.0)"]
    assert xs == list(range(11)) and ys[1:] == [0, 1, 1, 2, 2, 3, 3, 4, 4, 4]
    assert ys[0] != ys[0]                                  # NaN: not seen yet
    assert lines["web-old (2.59)"][1] == [4, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0]
    assert min(lines["all ready pods"][1]) == 4
    assert ax.get_title() == "RollingUpdate · 10 changes in 5.1 s"
    assert ax.get_xlim() == (0.0, 10.0)


def test_rollouts_side_by_side_share_their_scales_and_colours():
    fig = charts.rollouts({"RollingUpdate": ROLLING, "Recreate": RECREATE})
    left, right = fig.axes
    assert left.get_title().startswith("RollingUpdate") and right.get_title() == \
        "Recreate · 5 changes in 4.5 s"
    assert left.get_xlim() == right.get_xlim() == (0.0, 10.0)
    assert left.get_ylim() == right.get_ylim() == (-0.2, 6.0)
    colour = {ln.get_label(): ln.get_color() for ax in (left, right) for ln in ax.get_lines()}
    assert colour["web-old (2.59)"] != colour["web-new (2.63.0)"]
    same = [ln.get_color() for ax in (left, right) for ln in ax.get_lines()
            if ln.get_label() == "web-old (2.59)"]
    assert len(same) == 2 and same[0] == same[1]
    total = next(ln for ln in right.get_lines() if ln.get_label() == "all ready pods")
    assert 0 in list(total.get_ydata())                     # Recreate's downtime is drawn
    width, height = png_size(charts.png(fig))
    assert (width, height) == (1040, 420)


def test_rollout_with_nothing_ready_yet_says_so():
    fig = charts.rollout([seen(0.0, "web-old", OLD, 0, 0, "ADDED")], "Recreate")
    ax = fig.axes[0]
    assert not ax.get_lines()
    assert [t.get_text() for t in ax.texts] == ["no ready pods seen yet"]


def test_live_chart_draws_beside_the_watch_and_ends_on_the_final_picture(monkeypatch):
    view = LiveView(lab=None, kinds=["ReplicaSet"], selector="app=web", seconds=20)
    updates: list[tuple[str, bytes]] = []
    drawn = threading.Event()

    class Handle:
        def update(self, image):
            updates.append((threading.current_thread().name, image.data))
            drawn.set()

    monkeypatch.setattr(charts, "show", lambda fig: Handle())
    chart = charts.follow_rollout(view, "RollingUpdate")
    view.seen.extend(ROLLING[:4])
    view._refresh_widget()                 # a change while watching: returns at once
    assert drawn.wait(10)                  # ... and the chart's own thread draws it
    assert updates[0][0] != threading.current_thread().name
    view.seen.extend(ROLLING[4:])
    view._refresh_widget(final=True)       # the view stopped: drawn here, with all of it
    assert updates[-1][0] == threading.current_thread().name
    assert not chart._thread.is_alive()
    new = next(ln for ln in chart.figure.axes[0].get_lines()
               if ln.get_label() == "web-new (2.63.0)")
    assert list(new.get_ydata())[-1] == 4
    assert png_size(updates[-1][1]) == (720, 400)


def test_a_failing_chart_never_breaks_the_view(capsys):
    view = LiveView(lab=None, kinds=["ReplicaSet"], selector=None, seconds=1)

    def broken(final):
        raise ValueError("no canvas")

    view.on_change(broken)
    view._refresh_widget()
    view._refresh_widget(final=True)
    assert "no canvas" in capsys.readouterr().out


def test_labels_fall_back_to_english_without_a_hangul_font(monkeypatch):
    monkeypatch.setattr(charts, "tr", lambda m, **kw: "준비된 파드")
    monkeypatch.setattr(charts, "_hangul_font", lambda: None)
    assert charts.label("ready pods") == "ready pods"
    monkeypatch.setattr(charts, "_hangul_font", lambda: "NanumGothic")
    assert charts.label("ready pods") == "준비된 파드"


def test_png_is_not_the_same_for_different_data():
    a = charts.png(charts.pods_per_node({"a": 1, "b": 5}))
    b = charts.png(charts.pods_per_node({"a": 5, "b": 1}))
    assert a != b and io.BytesIO(a).getbuffer().nbytes > 5000


# ------------------------------------------------------------------ maps
def boxes(fig) -> dict[str, object]:
    """Every box and arrow of a map by its gid ('pod:web-1', 'arrow:...')."""
    return {p.get_gid(): p for ax in fig.axes for p in ax.patches if p.get_gid()}


def box_text(fig, gid: str) -> str:
    return next(t.get_text() for t in fig.axes[0].texts if t.get_gid() == f"{gid}:text")


def endpoint(ip: str, pod: str, node: str, ready: bool = True,
             terminating: bool = False) -> dict:
    return {"addresses": [ip], "nodeName": node, "targetRef": {"kind": "Pod", "name": pod},
            "conditions": {"ready": ready, "serving": ready, "terminating": terminating}}


SERVICE = {"metadata": {"name": "web"},
           "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.15", "selector": {"app": "web"},
                    "ports": [{"port": 80, "targetPort": 8080}]}}
SLICE = {"metadata": {"name": "web-x7k2p"},
         "endpoints": [endpoint("10.0.0.4", "web-a", "node-1"),
                       endpoint("10.0.0.5", "web-b", "node-0"),
                       endpoint("10.0.0.6", "web-c", "node-1", ready=False),
                       endpoint("10.0.0.7", "web-d", "node-0", ready=False, terminating=True)]}


def test_service_map_draws_service_slice_pods_and_nodes_with_their_arrows():
    fig = charts.service_map(SERVICE, [SLICE], ["node-0", "node-1", "node-2"])
    drawn = boxes(fig)
    assert {g for g in drawn if not g.startswith("arrow:")} == {
        "service:web", "slice:web-x7k2p", "pod:web-a", "pod:web-b", "pod:web-c",
        "pod:web-d", "node:node-0", "node:node-1", "node:node-2"}
    assert {g for g in drawn if g.startswith("arrow:")} == {
        "arrow:service:web->slice:web-x7k2p",
        *(f"arrow:slice:web-x7k2p->pod:{p}" for p in "web-a web-b web-c web-d".split()),
        "arrow:pod:web-a->node:node-1", "arrow:pod:web-c->node:node-1",
        "arrow:pod:web-b->node:node-0", "arrow:pod:web-d->node:node-0"}
    assert fig.axes[0].get_title() == "Service web: 2 of 4 endpoints ready"
    assert "ClusterIP 10.96.0.15\n:80 → :8080" in box_text(fig, "service:web")
    assert box_text(fig, "slice:web-x7k2p").endswith("2 of 4 ready")
    assert box_text(fig, "pod:web-c") == "web-c\n10.0.0.6 · not ready"
    assert box_text(fig, "pod:web-d") == "web-d\n10.0.0.7 · terminating"
    assert box_text(fig, "node:node-2").endswith("pods of this Service: 0")   # kept, empty


def test_service_map_tells_ready_from_not_ready_and_groups_pods_by_node():
    fig = charts.service_map(SERVICE, [SLICE], ["node-0", "node-1"])
    drawn = boxes(fig)
    solid = {g for g, p in drawn.items() if g.startswith("pod:") and p.get_linestyle() == "-"}
    assert solid == {"pod:web-a", "pod:web-b"}                   # the ready ones
    assert drawn["pod:web-c"].get_facecolor()[:3] == (1.0, 1.0, 1.0)   # empty box
    assert drawn["arrow:slice:web-x7k2p->pod:web-c"].get_linestyle() == "--"
    assert drawn["arrow:slice:web-x7k2p->pod:web-a"].get_linestyle() == "-"
    # a pod's outline has its node's colour, and a node's pods sit next to each other
    assert drawn["pod:web-a"].get_edgecolor() == drawn["pod:web-c"].get_edgecolor() == \
        drawn["node:node-1"].get_edgecolor() != drawn["node:node-0"].get_edgecolor()
    top = sorted(("web-a", "web-b", "web-c", "web-d"),
                 key=lambda p: -drawn[f"pod:{p}"].get_y())
    assert {top[0], top[1]} == {"web-b", "web-d"} and {top[2], top[3]} == {"web-a", "web-c"}


def test_service_map_writes_the_history_of_ready_endpoints():
    fig = charts.service_map(SERVICE, [SLICE], history=[3, 3, 2, 1, 1, 2, 3])
    notes = fig.get_supxlabel()
    assert notes.endswith("ready endpoints after each change: 3 → 2 → 1 → 2 → 3")
    png_size(charts.png(fig))


def test_service_map_of_a_service_without_endpoints():
    fig = charts.service_map(SERVICE, [], ["node-0"])
    assert set(boxes(fig)) == {"service:web", "node:node-0"}
    assert fig.axes[0].get_title() == "Service web: 0 of 0 endpoints ready"


def test_follow_service_redraws_from_the_slices_the_view_saw(monkeypatch):
    view = LiveView(lab=None, kinds=["EndpointSlice"], selector=None, seconds=20)
    updates = []

    class Handle:
        def update(self, image):
            updates.append(image.data)

    monkeypatch.setattr(charts, "show", lambda fig: Handle())
    before = {"metadata": {"name": "web-x7k2p"},
              "endpoints": [endpoint("10.0.0.4", "web-a", "node-1"),
                            endpoint("10.0.0.5", "web-b", "node-0")]}
    chart = charts.follow_service(view, SERVICE, ["node-0", "node-1"], [before])
    assert {g for g in boxes(chart.figure) if g.startswith("pod:")} == {"pod:web-a", "pod:web-b"}
    one = {"metadata": {"name": "web-x7k2p"},
           "endpoints": [endpoint("10.0.0.4", "web-a", "node-1")]}
    view.seen.extend([Seen(0.1, "MODIFIED", "EndpointSlice", "web-x7k2p", "", one),
                      Seen(0.2, "MODIFIED", "EndpointSlice", "web-x7k2p", "", SLICE)])
    view._refresh_widget(final=True)
    assert updates and {g for g in boxes(chart.figure) if g.startswith("pod:")} == {
        "pod:web-a", "pod:web-b", "pod:web-c", "pod:web-d"}
    assert chart.figure.get_supxlabel().endswith("after each change: 1 → 2")


def pod(name: str, app: str, ready: bool = True) -> dict:
    return {"metadata": {"name": name, "labels": {"app": app}},
            "status": {"conditions": [{"type": "Ready", "status": str(ready)}]}}


def service(name: str) -> dict:
    return {"metadata": {"name": name},
            "spec": {"type": "ClusterIP", "selector": {"app": name},
                     "ports": [{"port": 80, "targetPort": 8080}]}}


def path(p: str, svc: str) -> dict:
    return {"path": p, "pathType": "Prefix", "backend": {"service": {"name": svc}}}


INGRESS = {"metadata": {"name": "shop"}, "spec": {"rules": [
    {"host": "shop.example.test", "http": {"paths": [path("/api", "api"), path("/", "shop")]}},
    {"host": "api.example.test", "http": {"paths": [path("/", "api")]}}]}}


def test_ingress_map_draws_rules_to_services_to_the_pods_they_select():
    pods = [pod("shop-1", "shop"), pod("shop-2", "shop", ready=False), pod("api-1", "api"),
            pod("other", "x")]
    fig = charts.ingress_map(INGRESS, [service("shop"), service("api")], pods)
    drawn = boxes(fig)
    assert {g for g in drawn if not g.startswith("arrow:")} == {
        "ingress:shop", "rule:shop.example.test/api", "rule:shop.example.test/",
        "rule:api.example.test/", "service:api", "service:shop",
        "pod:shop-1", "pod:shop-2", "pod:api-1"}                 # 'other' is nobody's
    assert {g for g in drawn if g.startswith("arrow:rule:")} == {
        "arrow:rule:shop.example.test/api->service:api",
        "arrow:rule:shop.example.test/->service:shop",
        "arrow:rule:api.example.test/->service:api"}            # one api box, two arrows
    assert {g for g in drawn if g.startswith("arrow:service:")} == {
        "arrow:service:shop->pod:shop-1", "arrow:service:shop->pod:shop-2",
        "arrow:service:api->pod:api-1"}
    assert drawn["pod:shop-2"].get_linestyle() == "--" and drawn["pod:shop-1"].get_linestyle() == "-"
    assert box_text(fig, "rule:shop.example.test/api") == "shop.example.test\n/api  (Prefix)"
    assert box_text(fig, "ingress:shop").endswith("no ADDRESS yet")
    assert fig.axes[0].get_title() == "Ingress shop: 3 routes to 2 Services"
    assert "only an Ingress controller" in fig.get_supxlabel()


def test_ingress_map_shows_a_missing_service_as_a_dashed_box():
    fig = charts.ingress_map(INGRESS, [service("shop")], [pod("shop-1", "shop")])
    drawn = boxes(fig)
    assert drawn["service:api"].get_linestyle() == "--"
    assert box_text(fig, "service:api") == "Service api\n(no such Service)"
    assert "pod:api-1" not in drawn


def test_canary_share_bars_are_the_shares_of_each_track():
    fig = charts.canary_share({"canary": 1, "stable": 3}, {"stable": 151, "canary": 49})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["ready endpoints", "answers"]
    widths = [(round(p.get_x()), round(p.get_width())) for p in ax.patches]
    # stable first, then the canary stacked after it, in both rows
    assert widths == [(0, 75), (0, 76), (75, 25), (76, 24)]
    assert [t.get_text() for t in ax.texts] == [
        "stable 3 (75%)", "stable 151 (76%)", "canary 1 (25%)", "canary 49 (24%)"]
    assert ax.get_title() == "canary: 25% of the ready endpoints"


def test_canary_share_without_answers_has_one_bar():
    fig = charts.canary_share({"stable": 3, "canary": 1})
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["ready endpoints"]


def test_a_live_endpointslice_line_names_the_endpoints_that_are_not_ready():
    from kubelab._session.live import summarize
    assert summarize("EndpointSlice", SLICE) == \
        "ready endpoints: 10.0.0.4, 10.0.0.5; not ready: 10.0.0.6, 10.0.0.7"
    assert summarize("EndpointSlice", {"endpoints": [endpoint("10.0.0.4", "a", "n")]}) == \
        "ready endpoints: 10.0.0.4"


def test_a_shown_chart_as_the_last_value_of_a_cell_prints_nothing():
    from IPython.core.formatters import DisplayFormatter
    updated = []

    class Handle:
        def update(self, image):
            updated.append(image)

    shown = charts.Shown(Handle())
    assert DisplayFormatter().format(shown) == ({}, {})     # no '<DisplayHandle ...>'
    shown.update("png")
    assert updated == ["png"]
