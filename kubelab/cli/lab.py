"""`kubelab up`, `down`, `status`, `reset`, `env`: the lab cluster's life, and a shell
pointed at it."""
from __future__ import annotations

import argparse
import json
import shlex

from kubelab import _backends as backends
from kubelab._base.contract import LESSON_LABEL
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr
from kubelab._build import binaries
from kubelab._cluster.cluster import current
from kubelab.cli.common import (EXIT_FAILED, cluster_options, command, options,
                                output_option, positive)

EXAMPLES = {
    "up": "kubelab up --backend sandbox --nodes 3",
    "down": "kubelab down",
    "status": "kubelab status -o json",
    "reset": "kubelab reset",
    "env": 'eval "$(kubelab env)" && kubectl get nodes',
}


def cmd_up(args: argparse.Namespace) -> int:
    # --nodes as given: without it, the backend's own count (Backend.default_nodes)
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
    as_json = args.output == "json"
    cluster = current(required=False)
    if cluster is None:
        problem = tr("no lab cluster is running (start one with `kubelab up`)")
        print(json.dumps({"running": False, "problem": problem}, indent=2) if as_json
              else problem)
        return EXIT_FAILED
    # a backend that runs processes of its own says how each is, and whether `up` is
    # still starting it or was cut short
    details = getattr(backends.for_cluster(cluster), "status_details", None)
    extra: dict = details(cluster) if details else {}
    start = extra.get("start", "done")
    components: dict[str, int | None] = extra.get("components") or {}
    down = [name for name, pid in components.items() if pid is None]
    ok, why = cluster.reachable() if start == "done" else (False, "")
    info: dict = {"running": start == "done", "backend": cluster.backend,
                  "context": cluster.context, "kubeconfig": cluster.kubeconfig,
                  "created_by_kubelab": cluster.created_by_kubelab, "reachable": ok}
    if start != "done":
        info["start"] = start
    if components:
        info["components"] = components
        info["components_down"] = down
    failure: KubelabError | None = None
    if start == "starting":
        failure = KubelabError(tr("the {backend} lab is still starting (`kubelab up`, PID "
                                  "{pid})", backend=cluster.backend,
                                  pid=extra.get("starting_pid")),
                               tr("wait for it to finish, or press Ctrl-C there: it "
                                  "removes what it started."))
    elif start == "interrupted":
        failure = KubelabError(tr("the start of the {backend} lab was interrupted; {count} "
                                  "of its processes still run",
                                  backend=cluster.backend, count=len(components) - len(down)),
                               tr("run `kubelab down` to remove it, or `kubelab up` to "
                                  "make a new lab."))
    elif down:
        failure = KubelabError(tr("these components of the {backend} lab are not running: "
                                  "{components}", backend=cluster.backend,
                                  components=", ".join(down)),
                               tr("run `kubelab up`: it starts only these again, on the "
                                  "lab's own data, so your objects are kept."))
    # with a component down (etcd, say) the API server may still pass /readyz for a
    # moment, and every list would wait a minute for etcd: name what is down instead
    if ok and not down:
        try:
            info["server_version"] = cluster.server_version()
            nodes = json.loads(cluster.kubectl(["get", "nodes", "-o", "json"]).stdout)
            info["nodes"] = [n["metadata"]["name"] for n in nodes["items"]]
            ns = json.loads(cluster.kubectl(["get", "namespaces", "-l", LESSON_LABEL, "-o",
                                             "json"]).stdout)
            info["lesson_namespaces"] = [n["metadata"]["name"] for n in ns["items"]]
        except KubelabError as e:
            failure = failure or e
            info["problem"] = e.problem
    elif start == "done":
        info["problem"] = why
        failure = failure or KubelabError(tr("the {backend} lab does not answer: {why}",
                                             backend=cluster.backend, why=why),
                                          tr("run `kubelab up` to start it again."))
    if failure is not None:
        info.setdefault("problem", failure.problem)
    if as_json:
        print(json.dumps(info, indent=2))
    else:
        for k, v in info.items():
            if k == "components":
                v = [f"{name} {tr('(PID {pid})', pid=pid) if pid else tr('DOWN')}"
                     for name, pid in v.items()]
            print(f"{k:>20}: {', '.join(v) if isinstance(v, list) else v}")
    if failure is not None:
        raise failure
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    cluster = current()
    out = cluster.kubectl(["delete", "namespaces", "-l", LESSON_LABEL, "--wait=true",
                           "--timeout=120s"], timeout=150).stdout
    print(out.strip() or "no lesson namespaces to delete")
    return 0


def env_lines(kubeconfig: str, kubectl_dir: str, context: str) -> list[str]:
    """Shell lines for `eval`: every value quoted, so spaces, quotes and `$` in a path stay
    part of the path. An alias pins the context without writing anyone's kubeconfig."""
    q = shlex.quote
    return [f"export KUBECONFIG={q(kubeconfig)}",
            f'export PATH={q(kubectl_dir)}:"$PATH"',
            f"alias kubectl={q('kubectl --context=' + q(context))}"]


def cmd_env(args: argparse.Namespace) -> int:
    cluster = current()
    for line in env_lines(cluster.kubeconfig, str(binaries.kubectl().parent),
                          cluster.context):
        print(line)
    return 0


def register_up(sub) -> None:  # noqa: ANN001 - argparse's subparsers
    up = command(sub, EXAMPLES, "up", "start (or reuse) the lab cluster",
                 parents=(options(cluster_options),))
    up.add_argument("--port", type=positive, metavar="PORT",
                    help="apiserver port (sandbox, local)")
    up.set_defaults(run=cmd_up)


def register_down(sub) -> None:  # noqa: ANN001 - argparse's subparsers
    command(sub, EXAMPLES, "down", "stop the lab cluster kubelab started; leave no process"
            ).set_defaults(run=cmd_down)


def register_status(sub) -> None:  # noqa: ANN001 - argparse's subparsers
    st = command(sub, EXAMPLES, "status", "what the lab is and whether it answers",
                 parents=(options(output_option),))
    st.add_argument("--json", dest="output", action="store_const", const="json",
                    help=argparse.SUPPRESS)          # the older spelling of -o json
    st.set_defaults(run=cmd_status)


def register_reset(sub) -> None:  # noqa: ANN001 - argparse's subparsers
    command(sub, EXAMPLES, "reset", "delete every lesson namespace").set_defaults(run=cmd_reset)


def register_env(sub) -> None:  # noqa: ANN001 - argparse's subparsers
    command(sub, EXAMPLES, "env", "shell lines that point kubectl at the lab (for eval)"
            ).set_defaults(run=cmd_env)


VERBS = {"up": register_up, "down": register_down, "status": register_status,
         "reset": register_reset, "env": register_env}
