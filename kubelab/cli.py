"""`kubelab up | down | status | doctor | reset | env | build | bench`.

Every failure is one message and its fix, and a non-zero exit; never a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys

from . import backends, binaries, doctor, versions
from .cluster import current
from .errors import KubelabError
from .i18n import tr
from .lab import LESSON_LABEL


def cmd_up(args: argparse.Namespace) -> int:
    cluster = backends.up(args.backend, nodes=args.nodes, port=args.port,
                          context=args.context, kubeconfig=args.kubeconfig)
    print(f"lab is up: backend {cluster.backend}, context {cluster.context}, "
          f"server {cluster.server_version()}")
    print("use it from a terminal with:  eval \"$(kubelab env)\"")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    backends.down()
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    cluster = current(required=False)
    if cluster is None:
        print(tr("no lab cluster is running (start one with `kubelab up`)"))
        return 1
    ok, why = cluster.reachable()
    info = {"backend": cluster.backend, "context": cluster.context,
            "kubeconfig": cluster.kubeconfig, "created_by_kubelab": cluster.created_by_kubelab,
            "reachable": ok}
    if ok:
        info["server_version"] = cluster.server_version()
        nodes = json.loads(cluster.kubectl(["get", "nodes", "-o", "json"]).stdout)["items"]
        info["nodes"] = [n["metadata"]["name"] for n in nodes]
        ns = json.loads(cluster.kubectl(["get", "namespaces", "-l", LESSON_LABEL, "-o",
                                         "json"]).stdout)["items"]
        info["lesson_namespaces"] = [n["metadata"]["name"] for n in ns]
    else:
        info["problem"] = why
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for k, v in info.items():
            print(f"{k:>20}: {', '.join(v) if isinstance(v, list) else v}")
    if not ok:
        raise KubelabError(tr("the {backend} lab does not answer: {why}",
                              backend=cluster.backend, why=why),
                           tr("run `kubelab up` to start it again."))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    problems = doctor.report(print)
    return 1 if problems else 0


def cmd_reset(args: argparse.Namespace) -> int:
    cluster = current()
    out = cluster.kubectl(["delete", "namespaces", "-l", LESSON_LABEL, "--wait=true",
                           "--timeout=120s"], timeout=150).stdout
    print(out.strip() or "no lesson namespaces to delete")
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    cluster = current()
    # An alias pins the context without writing current-context into anyone's file.
    print(f"export KUBECONFIG={cluster.kubeconfig}")
    print(f"export PATH={binaries.kubectl().parent}:$PATH")
    print(f"alias kubectl='kubectl --context={cluster.context}'")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    """Get every sandbox binary into the cache (download, else build) and list them;
    with --node, also the local backend's node programs (always built from source)."""
    import time
    for name, path in binaries.find_all().items():
        print(f"{name:>24}  {binaries.COMPONENTS[name].version:>8}  {path}")
    groups = {}
    if args.node or args.kind:
        groups.update(binaries.NODE_GROUPS)
    if args.kind:
        groups.update(binaries.KIND_GROUPS)
    if groups:
        for group, (version, names) in groups.items():
            start = time.monotonic()
            where = binaries.node_group(group)
            print(f"{group:>24}  {version:>8}  {where}  ({', '.join(names)}; "
                  f"{time.monotonic() - start:.0f} s)")
    if args.kind:
        from .backends.kind import nodeimage
        start = time.monotonic()
        tarball = nodeimage.build_node(lambda m: print(f"[kubelab build kind] {m}",
                                                       file=sys.stderr, flush=True))
        print(f"{'kind node image':>24}  {versions.KUBERNETES:>8}  {tarball}  "
              f"({nodeimage.image_tag()}; {time.monotonic() - start:.0f} s)")
    return 0


def cmd_engine(args: argparse.Namespace) -> int:
    """kubelab's own Docker engine (Linux, root): start, stop, env, status."""
    from . import engine
    if args.action == "start":      # progress on stderr: stdout is for `eval`
        engine.start(log=lambda m: print(m, file=sys.stderr, flush=True))
        print(f"export DOCKER_HOST={engine.host_value()}")
    elif args.action == "stop":
        engine.stop()
    elif args.action == "env":
        if engine.running():
            print(f"export DOCKER_HOST={engine.host_value()}")
    else:
        ok, why = engine.answers()
        print(("running: " if engine.running() else "not kubelab's: ") + why if ok
              else f"no Docker engine answers: {why}")
        return 0 if ok else 1
    return 0


def cmd_open(args: argparse.Namespace) -> int:
    """Bring the lab up on the best available backend, then open the workbook."""
    import os
    import shutil
    from . import i18n
    from .i18n import jupyter as lab_ui
    lang = i18n.set_language(args.lang)         # --lang, else KUBELAB_LANG, else locale
    cmd_up(args)
    jupyter = shutil.which("jupyter")
    if not jupyter:
        raise KubelabError(tr("JupyterLab is not installed."), 'pip install -e ".[lab]"')
    pack = lab_ui.missing_pack(lang)
    if pack:
        print(tr("JupyterLab's menus stay English until {pack} is installed: "
                 "pip install -e \".[lab,ko]\"", pack=pack), file=sys.stderr)
    os.environ["KUBELAB_LANG"] = lang           # kernels and terminals speak it too
    os.execv(jupyter, lab_ui.lab_command(jupyter, lang))
    return 0


def cmd_workshop(args: argparse.Namespace) -> int:
    from pathlib import Path
    from . import workshop
    cluster = workshop.instructor_cluster(args.context, args.kubeconfig)
    if args.action == "create":
        learners = workshop.learners_from(args.learners.split(",") if args.learners else None,
                                          args.count, args.name)
        print(f"workshop {args.name} on context {cluster.context}: {len(learners)} learners")
        workshop.create(cluster, learners, Path(args.out), args.hours)
        print(f"kubeconfigs (mode 0600) in {args.out}; hand each learner their own file")
    elif args.action == "progress":
        print(workshop.progress_table(workshop.progress(cluster, args.name)))
    elif args.action == "delete":
        workshop.delete(cluster, args.name)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from . import bench
    if args.compare:
        return bench.compare(args)
    if args.node:
        return bench.node(args)
    return bench.workshop_load(args) if args.learners else bench.main(args)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubelab", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start (or reuse) the lab cluster")
    up.add_argument("--backend", default="auto",
                    help=f"auto (default), {', '.join(backends.BACKENDS)}")
    up.add_argument("--nodes", type=int, default=2, help="nodes (sandbox default 2)")
    up.add_argument("--port", type=int, help="apiserver port (sandbox, local)")
    up.add_argument("--context", help="context to use (backend existing)")
    up.add_argument("--kubeconfig", help="kubeconfig holding --context (backend existing)")
    op = sub.add_parser("open", help="start the lab, then open the workbook in JupyterLab")
    for a in up._actions[1:]:
        op._add_action(a)
    op.add_argument("--lang", choices=["en", "ko"], default="",
                    help="the edition and UI language (default: KUBELAB_LANG, else the "
                         "locale); ko opens notebooks/ko/ with JupyterLab in Korean")
    sub.add_parser("down", help="stop the lab cluster kubelab started; leave no process")
    st = sub.add_parser("status", help="what the lab is and whether it answers")
    st.add_argument("--json", action="store_true")
    sub.add_parser("doctor", help="check every prerequisite and say how to fix it")
    sub.add_parser("reset", help="delete every lesson namespace")
    sub.add_parser("env", help="shell lines that point kubectl at the lab")
    bd = sub.add_parser("build", help="fetch or build the pinned sandbox binaries into the cache")
    bd.add_argument("--node", action="store_true",
                    help="also build the local backend's node (containerd, kubelet, ...)")
    bd.add_argument("--kind", action="store_true",
                    help="also build kind and a kind node image (Linux, root, debootstrap)")
    en = sub.add_parser("engine", help="kubelab's own Docker engine (Linux, root), for kind")
    en.add_argument("action", choices=["start", "stop", "env", "status"])
    w = sub.add_parser("workshop", help="one shared cluster, a scoped login per learner")
    w.add_argument("action", choices=["create", "progress", "delete"])
    w.add_argument("--name", default="ws", help="workshop name, a prefix of every namespace")
    w.add_argument("--learners", help="comma-separated learner names")
    w.add_argument("--count", type=int, help="or a number of learners (learner01, ...)")
    w.add_argument("--context", help="the shared cluster's context (default: the lab)")
    w.add_argument("--kubeconfig", help="kubeconfig holding --context")
    w.add_argument("--hours", type=float, default=8, help="how long the logins last")
    w.add_argument("--out", default="workshop-kubeconfigs", help="where kubeconfigs go")
    b = sub.add_parser("bench", help="measure start time, memory, rollout time, overhead")
    b.add_argument("--cold", action="store_true",
                   help="also time a cold start (builds the binaries in an empty cache)")
    b.add_argument("--node", action="store_true",
                   help="instead: the local backend's real node (Linux, root)")
    b.add_argument("--compare", action="store_true",
                   help="instead: kind, minikube, local and sandbox side by side (Ready "
                        "time, memory, ratios against kind)")
    b.add_argument("--settle", type=float, default=20,
                   help="with --compare: seconds to wait before measuring memory")
    b.add_argument("--calls", type=int, default=60)
    b.add_argument("--workshop", type=int, metavar="N", dest="learners",
                   help="instead: run one chapter for N workshop learners at once")
    b.add_argument("--chapter", default="05a-pods-replicasets")
    b.add_argument("--parallel", type=int, default=4, help="notebooks at once (2 cores)")
    p.add_argument("--version", action="version",
                   version=f"kubelab {__import__('kubelab').__version__} "
                           f"(Kubernetes {versions.KUBERNETES})")
    return p


COMMANDS = {"open": cmd_open, "up": cmd_up, "down": cmd_down, "status": cmd_status,
            "doctor": cmd_doctor, "reset": cmd_reset, "env": cmd_env, "build": cmd_build,
            "bench": cmd_bench, "workshop": cmd_workshop, "engine": cmd_engine}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except KubelabError as e:
        print(f"kubelab: {e.problem}", file=sys.stderr)
        if e.fix:
            print(tr("  fix: {fix}", fix=e.fix), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(tr("kubelab: interrupted"), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
