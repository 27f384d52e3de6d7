"""`kubelab engine start|stop|env|status`: kubelab's own Docker engine, for kind."""
from __future__ import annotations

import argparse
import shlex
import sys

from kubelab._base.i18n import tr
from kubelab.cli.common import EXIT_FAILED, command

EXAMPLES = {
    "engine": 'eval "$(kubelab engine start)" && docker version',
    "engine start": 'eval "$(kubelab engine start)"',
    "engine stop": "kubelab engine stop",
    "engine env": 'eval "$(kubelab engine env)"',
    "engine status": "kubelab engine status",
}


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
        print((tr("running: {why}", why=why) if engine.running()
               else tr("not kubelab's: {why}", why=why)) if ok
              else tr("no Docker engine answers: {why}", why=why))
        return 0 if ok else EXIT_FAILED
    return 0



def register_engine(sub) -> None:  # noqa: ANN001 - argparse's subparsers
    en = command(sub, EXAMPLES, "engine", "kubelab's own Docker engine (Linux, root), for kind")
    en_sub = en.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, summary in (("start", "start it; prints DOCKER_HOST for eval"),
                            ("stop", "stop it and everything it runs"),
                            ("env", "print DOCKER_HOST for eval, if it runs"),
                            ("status", "whether a Docker engine answers")):
        command(en_sub, EXAMPLES, action, summary, key=f"engine {action}").set_defaults(
            run=cmd_engine, action=action)


VERBS = {"engine": register_engine}
