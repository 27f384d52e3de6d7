"""`kubelab open`: bring the lab up, then open the workbook in JupyterLab, in the
learner's language (kubelab/cli/jupyter_locale.py sets JupyterLab's own)."""
from __future__ import annotations

import argparse
import os
import sys

from kubelab._base.errors import KubelabError, UsageError
from kubelab._base.i18n import tr
from kubelab._system.net import port_free
from kubelab.cli.common import cluster_options, command, options, positive
from kubelab.cli.lab import cmd_up

EXAMPLES = {
    "open": "kubelab open --lang ko --no-browser --ip 0.0.0.0 --port 8890",
}


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
        if not port_free(requested, host):
            raise UsageError(tr("port {port} is already in use on {host}.", port=requested,
                                host=host),
                             tr("choose another --port, or leave it out to take a free "
                                "one."))
        return requested
    for port in range(8888, 8988):
        if port_free(port, host):
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



def register_open(sub) -> None:  # noqa: ANN001 - argparse's subparsers
    op = command(sub, EXAMPLES, "open", "start the lab, then open the workbook in JupyterLab",
                 parents=(options(cluster_options),))
    op.add_argument("--api-port", dest="port", type=positive, metavar="PORT",
                    help="apiserver port (sandbox, local)")
    op.add_argument("--lang", choices=["en", "ko"], default="",
                    help="the edition and UI language (default: KUBELAB_LANG, else the "
                         "locale); ko opens notebooks/ko/ with JupyterLab in Korean")
    op.add_argument("--port", dest="lab_port", type=positive, metavar="PORT",
                    help="JupyterLab's port (default: the first free one from 8888)")
    op.add_argument("--ip", help="the address JupyterLab listens on (default: localhost; "
                                 "0.0.0.0 for every interface, e.g. in a container)")
    op.add_argument("--no-browser", action="store_true",
                    help="do not open a browser (also when there is no display); the URL "
                         "is printed")
    op.set_defaults(run=cmd_open)


VERBS = {"open": register_open}
