"""`kubelab`: start a Kubernetes lab for the workbook, use it, share it with a class.

Every failure is one message and its fix, never a traceback. Exit codes, as kubectl and
kind use them: 0 done, 1 something failed, 2 the command line itself is wrong.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Callable

from kubelab import _backends as backends
from kubelab._base import versions
from kubelab._base.errors import KubelabError, UsageError
from kubelab._base.i18n import tr
from kubelab._build import binaries
from kubelab._cluster.cluster import current
from kubelab._session.scope import LESSON_LABEL
from kubelab.cli import doctor

EXIT_FAILED = 1
EXIT_USAGE = 2

# One example per command, shown at the end of its --help (tests/test_cli.py checks that
# every command has one).
EXAMPLES = {
    "up": "kubelab up --backend sandbox --nodes 3",
    "open": "kubelab open --lang ko --no-browser --ip 0.0.0.0 --port 8890",
    "down": "kubelab down",
    "status": "kubelab status -o json",
    "doctor": "kubelab doctor",
    "reset": "kubelab reset",
    "env": 'eval "$(kubelab env)" && kubectl get nodes',
    "build": "kubelab build --node",
    "engine": 'eval "$(kubelab engine start)" && docker version',
    "engine start": 'eval "$(kubelab engine start)"',
    "engine stop": "kubelab engine stop",
    "engine env": 'eval "$(kubelab engine env)"',
    "engine status": "kubelab engine status",
    "workshop": "kubelab workshop create --context CTX --name ws --count 25 --out logins/",
    "workshop create": "kubelab workshop create --context CTX --name ws "
                       "--learners kim,lee,park --hours 8 --out logins/",
    "workshop progress": "kubelab workshop progress --context CTX --name ws -o json",
    "workshop delete": "kubelab workshop delete --context CTX --name ws",
    "bench": "kubelab bench sandbox --cold",
    "bench sandbox": "kubelab bench sandbox --calls 100",
    "bench node": "kubelab bench node --cold",
    "bench compare": "kubelab bench compare --settle 30",
    "bench workshop": "kubelab bench workshop --count 30 --chapter 05a-pods-replicasets",
}


# ------------------------------------------------------------------ lab lifecycle
def cmd_up(args: argparse.Namespace) -> int:
    nodes = args.nodes
    if nodes is None and args.backend in backends.BACKENDS \
            and backends.BACKENDS[args.backend].max_nodes is not None:
        nodes = None                # the backend's own count (local: 1)
    elif nodes is None:
        nodes = 2                   # what `kubelab up` has always asked the others for
    cluster = backends.up(args.backend, nodes=nodes, port=args.port,
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
    ok, why = cluster.reachable()
    info: dict = {"running": True, "backend": cluster.backend, "context": cluster.context,
                  "kubeconfig": cluster.kubeconfig,
                  "created_by_kubelab": cluster.created_by_kubelab, "reachable": ok}
    failure: KubelabError | None = None
    if ok:
        try:
            info["server_version"] = cluster.server_version()
            nodes = json.loads(cluster.kubectl(["get", "nodes", "-o", "json"]).stdout)
            info["nodes"] = [n["metadata"]["name"] for n in nodes["items"]]
            ns = json.loads(cluster.kubectl(["get", "namespaces", "-l", LESSON_LABEL, "-o",
                                             "json"]).stdout)
            info["lesson_namespaces"] = [n["metadata"]["name"] for n in ns["items"]]
        except KubelabError as e:
            failure = e
            info["problem"] = e.problem
    else:
        info["problem"] = why
        failure = KubelabError(tr("the {backend} lab does not answer: {why}",
                                  backend=cluster.backend, why=why),
                               tr("run `kubelab up` to start it again."))
    if as_json:
        print(json.dumps(info, indent=2))
    else:
        for k, v in info.items():
            print(f"{k:>20}: {', '.join(v) if isinstance(v, list) else v}")
    if failure is not None:
        raise failure
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    problems = doctor.report(print)
    return EXIT_FAILED if problems else 0


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


def cmd_build(args: argparse.Namespace) -> int:
    """Get every sandbox binary into the cache (download, else build) and list them;
    with --node, also the local backend's node programs (always built from source)."""
    import time
    for name, path in binaries.find_all().items():
        print(f"{name:>24}  {binaries.COMPONENTS[name].version:>8}  {path}")
    from kubelab._build import gateway  # chapter 07's Gateway API CRDs, from their Go module
    crds = gateway.crd_files(log=lambda m: print(f"[kubelab build gateway-api] {m}",
                                                 file=sys.stderr, flush=True))
    print(f"{'gateway-api CRDs':>24}  {versions.GATEWAY_API:>8}  {crds[0].parent}")
    groups = {}
    if args.node or args.kind or args.minikube:
        groups.update(binaries.NODE_GROUPS)
    if args.kind or args.minikube:
        groups.update(binaries.KIND_GROUPS)
    if args.minikube:
        groups.update(binaries.MINIKUBE_GROUPS)
    if groups:
        for group, (version, names) in groups.items():
            start = time.monotonic()
            where = binaries.node_group(group)
            print(f"{group:>24}  {version:>8}  {where}  ({', '.join(names)}; "
                  f"{time.monotonic() - start:.0f} s)")
    if args.kind:
        from kubelab._build import nodeimage
        start = time.monotonic()
        tarball = nodeimage.build_node(lambda m: print(f"[kubelab build kind] {m}",
                                                       file=sys.stderr, flush=True))
        print(f"{'kind node image':>24}  {versions.KUBERNETES:>8}  {tarball}  "
              f"({nodeimage.image_tag()}; {time.monotonic() - start:.0f} s)")
    if args.minikube:
        from kubelab._build import kicbase
        start = time.monotonic()
        tarball = kicbase.build(lambda m: print(f"[kubelab build minikube] {m}",
                                                file=sys.stderr, flush=True))
        print(f"{'minikube node image':>24}  {versions.MINIKUBE:>8}  {tarball}  "
              f"({kicbase.image_tag()}; {time.monotonic() - start:.0f} s)")
    return 0


def cmd_engine(args: argparse.Namespace) -> int:
    """kubelab's own Docker engine (Linux, root): start, stop, env, status."""
    from kubelab._system import engine
    if args.action == "start":      # progress on stderr: stdout is for `eval`
        engine.start(log=lambda m: print(m, file=sys.stderr, flush=True))
        print(f"export DOCKER_HOST={shlex.quote(engine.host_value())}")
    elif args.action == "stop":
        engine.stop()
    elif args.action == "env":
        if engine.running():
            print(f"export DOCKER_HOST={shlex.quote(engine.host_value())}")
    else:
        ok, why = engine.answers()
        print(("running: " if engine.running() else "not kubelab's: ") + why if ok
              else f"no Docker engine answers: {why}")
        return 0 if ok else EXIT_FAILED
    return 0


# ------------------------------------------------------------------ kubelab open
def _port_free(port: int, host: str) -> bool:
    import socket
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _bind_host(ip: str | None) -> str:
    """Where to try a port for JupyterLab's --ip (its default is localhost)."""
    if not ip or ip == "localhost":
        return "127.0.0.1"
    return "0.0.0.0" if ip == "*" else ip


def lab_port(requested: int | None, ip: str | None) -> int:
    """JupyterLab's port: the one asked for (refused now if taken), else the first free
    one from 8888 on, so that the URL printed before JupyterLab starts is its URL."""
    host = _bind_host(ip)
    if requested:
        if not _port_free(requested, host):
            raise UsageError(tr("port {port} is already in use on {host}.", port=requested,
                                host=host),
                             tr("choose another --port, or leave it out to take a free "
                                "one."))
        return requested
    for port in range(8888, 8988):
        if _port_free(port, host):
            return port
    raise KubelabError(tr("no free port between 8888 and 8987 on {host}.", host=host),
                       tr("pass --port with a free port."))


def open_command(jupyter: str, lang: str, *, port: int, ip: str | None = None,
                 no_browser: bool = False, as_root: bool = False, headless: bool = False,
                 token: str = "") -> tuple[list[str], str, list[str]]:
    """JupyterLab's command line for the workbook in `lang`, the URL it will serve, and
    what kubelab adds and why (printed for the user)."""
    from urllib.parse import quote

    from kubelab._session import workbook
    from kubelab.cli import jupyter_locale as lab_ui
    root = workbook.notebooks_dir()
    start = lab_ui.start_notebook(lang)
    argv = lab_ui.lab_command(jupyter, lang)
    argv += [f"--ServerApp.root_dir={root}", f"--port={port}", "--ServerApp.port_retries=0"]
    notes = []
    if ip:
        argv.append(f"--ip={ip}")
    if as_root:
        argv.append("--allow-root")
        notes.append(tr("running as root: JupyterLab is started with --allow-root."))
    if no_browser or headless:
        argv.append("--no-browser")
        if headless and not no_browser:
            notes.append(tr("no display: no browser is opened; open the URL below."))
    host = "127.0.0.1" if not ip or ip in ("0.0.0.0", "::", "*", "localhost") else ip
    if ":" in host:
        host = f"[{host}]"
    path = quote(start.relative_to(root).as_posix())
    url = f"http://{host}:{port}/lab/tree/{path}" + (f"?token={token}" if token else "")
    return argv, url, notes


def _headless() -> bool:
    return sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                     or os.environ.get("WAYLAND_DISPLAY"))


def cmd_open(args: argparse.Namespace) -> int:
    """Bring the lab up on the best available backend, then open the workbook."""
    import secrets
    import shutil

    from kubelab._base import i18n
    from kubelab._session import workbook
    from kubelab.cli import jupyter_locale as lab_ui
    lang = i18n.set_language(args.lang)         # --lang, else KUBELAB_LANG, else locale
    workbook.notebooks_dir()                    # the chapters and JupyterLab first:
    jupyter = shutil.which("jupyter")           # nothing starts if either is missing
    if not jupyter:
        raise KubelabError(tr("JupyterLab is not installed."), 'pip install -e ".[lab]"')
    port = lab_port(args.lab_port, args.ip)
    cmd_up(args)
    pack = lab_ui.missing_pack(lang)
    if pack:
        print(tr("JupyterLab's menus stay English until {pack} is installed: "
                 "pip install -e \".[lab,ko]\"", pack=pack), file=sys.stderr)
    # The token is chosen here, so the URL can be printed before JupyterLab starts; it
    # goes in the environment (readable only by this user), not on the command line.
    token = os.environ.get("JUPYTER_TOKEN") or secrets.token_hex(24)
    argv, url, notes = open_command(
        jupyter, lang, port=port, ip=args.ip, no_browser=args.no_browser,
        as_root=hasattr(os, "geteuid") and os.geteuid() == 0, headless=_headless(),
        token=token)
    for note in notes:
        print(note)
    print(tr("the workbook: {url}", url=url))
    os.environ["JUPYTER_TOKEN"] = token
    os.environ["KUBELAB_LANG"] = lang           # kernels and terminals speak it too
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(jupyter, argv)
    return 0


# ------------------------------------------------------------------ workshops
def cmd_workshop_create(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kubelab import workshop
    learners = workshop.learners_from(args.learners.split(",") if args.learners else None,
                                      args.count, args.name)
    cluster = workshop.instructor_cluster(args.context, args.kubeconfig)
    print(f"workshop {args.name} on context {cluster.context}: {len(learners)} learners")
    workshop.create(cluster, learners, Path(args.out), args.hours)
    print(f"kubeconfigs (mode 0600) in {args.out}; hand each learner their own file")
    return 0


def cmd_workshop_progress(args: argparse.Namespace) -> int:
    from kubelab import workshop
    cluster = workshop.instructor_cluster(args.context, args.kubeconfig)
    table = workshop.progress(cluster, args.name)
    print(json.dumps(table, indent=2, ensure_ascii=False) if args.output == "json"
          else workshop.progress_table(table))
    return 0


def cmd_workshop_delete(args: argparse.Namespace) -> int:
    from kubelab import workshop
    cluster = workshop.instructor_cluster(args.context, args.kubeconfig)
    workshop.delete(cluster, args.name)
    return 0


# ------------------------------------------------------------------ bench
def cmd_bench_sandbox(args: argparse.Namespace) -> int:
    from kubelab.cli import bench
    return bench.main(args)


def cmd_bench_node(args: argparse.Namespace) -> int:
    from kubelab.cli import bench
    return bench.node(args)


def cmd_bench_compare(args: argparse.Namespace) -> int:
    from kubelab.cli import bench
    return bench.compare(args)


def cmd_bench_workshop(args: argparse.Namespace) -> int:
    from kubelab._session import workbook
    from kubelab.cli import bench
    try:
        import papermill  # noqa: F401 - bench.workshop_load runs the chapters with it
    except ImportError:
        raise KubelabError(tr("`kubelab bench workshop` runs the chapter with papermill, "
                              "which is not installed."),
                           'pip install -c constraints.txt -e ".[test]"') from None
    args.notebook = workbook.chapter(args.chapter)
    return bench.workshop_load(args)


# ------------------------------------------------------------------ the parser
def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(tr("{value!r} is not a whole number of at least 1",
                                            value=value))
    return number


def _backend(value: str) -> str:
    names = ("auto", *backends.BACKENDS)
    if value not in names:
        raise argparse.ArgumentTypeError(tr("unknown backend {name!r}; use one of: {names}",
                                            name=value, names=", ".join(names)))
    return value


def _options(build: Callable[[argparse.ArgumentParser], None]) -> argparse.ArgumentParser:
    """A parent parser: options several commands share (argparse's `parents=`)."""
    parent = argparse.ArgumentParser(add_help=False)
    build(parent)
    return parent


def _cluster_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", default="auto", type=_backend,
                   help=f"auto (default), {', '.join(backends.BACKENDS)}")
    p.add_argument("--nodes", type=_positive, default=None, metavar="N",
                   help="nodes (sandbox, kind, minikube: default 2; local: 1, at most 3)")
    p.add_argument("--context", help="context to use (backend existing)")
    p.add_argument("--kubeconfig", help="kubeconfig holding --context (backend existing)")


def _workshop_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", default="ws", help="workshop name, a prefix of every namespace")
    p.add_argument("--context", help="the shared cluster's context (default: the lab)")
    p.add_argument("--kubeconfig", help="kubeconfig holding --context")


def _output_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", choices=["text", "json"], default="text",
                   help="text (default) or json (always JSON, also on failure)")


def _cold_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cold", action="store_true",
                   help="also time a cold build, in empty caches (several minutes)")


def _command(sub, name: str, summary: str, *,  # noqa: ANN001 - argparse's subparsers
             parents: tuple[argparse.ArgumentParser, ...] = (),
             key: str = "") -> argparse.ArgumentParser:
    example = EXAMPLES[key or name]
    return sub.add_parser(name, help=summary, description=summary, parents=list(parents),
                          epilog=f"example:\n  {example}",
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kubelab", description="Start a Kubernetes lab for the workbook, use it, and "
                                    "share it with a class.",
        epilog="examples:\n  kubelab open\n  kubelab up --backend sandbox && "
               "eval \"$(kubelab env)\"\n  kubelab status -o json\n\n"
               "exit codes: 0 done, 1 failed, 2 wrong command line",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version",
                   version=f"kubelab {__import__('kubelab').__version__} "
                           f"(Kubernetes {versions.KUBERNETES})")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cluster = _options(_cluster_options)
    output = _options(_output_option)
    cold = _options(_cold_option)
    workshop_opts = _options(_workshop_options)

    up = _command(sub, "up", "start (or reuse) the lab cluster", parents=(cluster,))
    up.add_argument("--port", type=_positive, metavar="PORT",
                    help="apiserver port (sandbox, local)")
    up.set_defaults(run=cmd_up)

    op = _command(sub, "open", "start the lab, then open the workbook in JupyterLab",
                  parents=(cluster,))
    op.add_argument("--api-port", dest="port", type=_positive, metavar="PORT",
                    help="apiserver port (sandbox, local)")
    op.add_argument("--lang", choices=["en", "ko"], default="",
                    help="the edition and UI language (default: KUBELAB_LANG, else the "
                         "locale); ko opens notebooks/ko/ with JupyterLab in Korean")
    op.add_argument("--port", dest="lab_port", type=_positive, metavar="PORT",
                    help="JupyterLab's port (default: the first free one from 8888)")
    op.add_argument("--ip", help="the address JupyterLab listens on (default: localhost; "
                                 "0.0.0.0 for every interface, e.g. in a container)")
    op.add_argument("--no-browser", action="store_true",
                    help="do not open a browser (also when there is no display); the URL "
                         "is printed")
    op.set_defaults(run=cmd_open)

    _command(sub, "down", "stop the lab cluster kubelab started; leave no process"
             ).set_defaults(run=cmd_down)
    st = _command(sub, "status", "what the lab is and whether it answers",
                  parents=(output,))
    st.add_argument("--json", dest="output", action="store_const", const="json",
                    help=argparse.SUPPRESS)          # the older spelling of -o json
    st.set_defaults(run=cmd_status)
    _command(sub, "doctor", "check every prerequisite and say how to fix it"
             ).set_defaults(run=cmd_doctor)
    _command(sub, "reset", "delete every lesson namespace").set_defaults(run=cmd_reset)
    _command(sub, "env", "shell lines that point kubectl at the lab (for eval)"
             ).set_defaults(run=cmd_env)

    bd = _command(sub, "build", "fetch or build the pinned sandbox binaries into the cache")
    bd.add_argument("--node", action="store_true",
                    help="also build the local backend's node (containerd, kubelet, ...)")
    bd.add_argument("--kind", action="store_true",
                    help="also build kind and a kind node image (Linux, root, debootstrap)")
    bd.add_argument("--minikube", action="store_true",
                    help="also build minikube and its node image (Linux, root, debootstrap)")
    bd.set_defaults(run=cmd_build)

    en = _command(sub, "engine", "kubelab's own Docker engine (Linux, root), for kind")
    en_sub = en.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, summary in (("start", "start it; prints DOCKER_HOST for eval"),
                            ("stop", "stop it and everything it runs"),
                            ("env", "print DOCKER_HOST for eval, if it runs"),
                            ("status", "whether a Docker engine answers")):
        _command(en_sub, action, summary, key=f"engine {action}").set_defaults(
            run=cmd_engine, action=action)

    w = _command(sub, "workshop", "one shared cluster, a scoped login per learner")
    w_sub = w.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = _command(w_sub, "create", "namespaces, rights and an expiring login per learner",
                      parents=(workshop_opts,), key="workshop create")
    who = create.add_mutually_exclusive_group(required=True)
    who.add_argument("--learners", metavar="NAMES", help="comma-separated learner names")
    who.add_argument("--count", type=_positive, metavar="N",
                     help="or a number of learners (learner01, ...)")
    create.add_argument("--hours", type=float, default=8, metavar="H",
                        help="how long the logins last")
    create.add_argument("--out", default="workshop-kubeconfigs", metavar="DIR",
                        help="where kubeconfigs go")
    create.set_defaults(run=cmd_workshop_create)
    _command(w_sub, "progress", "the checks each learner passed, per chapter",
             parents=(workshop_opts, output), key="workshop progress"
             ).set_defaults(run=cmd_workshop_progress)
    _command(w_sub, "delete", "delete exactly what create made", parents=(workshop_opts,),
             key="workshop delete").set_defaults(run=cmd_workshop_delete)

    b = _command(sub, "bench", "measure start time, memory, rollout time, overhead")
    b_sub = b.add_subparsers(dest="mode", required=True, metavar="MODE")
    bs = _command(b_sub, "sandbox", "a private sandbox: start time, RSS, rollout time, "
                  "kubelab's overhead per call", parents=(cold,), key="bench sandbox")
    bs.add_argument("--calls", type=_positive, default=60, metavar="N",
                    help="kubectl calls timed for the overhead ratio")
    bs.set_defaults(run=cmd_bench_sandbox)
    _command(b_sub, "node", "a private local node (Linux, root): Ready time, pod start "
             "latency, requests during rollouts", parents=(cold,), key="bench node"
             ).set_defaults(run=cmd_bench_node)
    bc = _command(b_sub, "compare", "kind, minikube, local and sandbox one after the other: "
                  "Ready time and memory, side by side as ratios against kind",
                  key="bench compare")
    bc.add_argument("--settle", type=float, default=20, metavar="S",
                    help="seconds to wait after Ready before measuring memory")
    bc.set_defaults(run=cmd_bench_compare)
    bw = _command(b_sub, "workshop", "one chapter for N workshop learners at once on one "
                  "sandbox (needs papermill: the test extra)", key="bench workshop")
    bw.add_argument("--count", type=_positive, required=True, dest="learners", metavar="N",
                    help="how many learners")
    bw.add_argument("--chapter", default="05a-pods-replicasets", help="which chapter")
    bw.add_argument("--parallel", type=_positive, default=4, metavar="N",
                    help="notebooks at once (2 cores)")
    bw.set_defaults(run=cmd_bench_workshop)
    return p


def report(error: KubelabError) -> None:
    print(f"kubelab: {error.problem}", file=sys.stderr)
    if error.fix:
        print(tr("  fix: {fix}", fix=error.fix), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)          # a wrong command line exits 2 here
    try:
        return args.run(args)
    except UsageError as e:
        report(e)
        return EXIT_USAGE
    except KubelabError as e:
        report(e)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(tr("kubelab: interrupted"), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
