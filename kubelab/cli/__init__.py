"""`kubelab`: start a Kubernetes lab for the workbook, use it, share it with a class.

Every failure is one message and its fix, never a traceback. Exit codes, as kubectl and
kind use them: 0 done, 1 something failed, 2 the command line itself is wrong.

Here: the parser, assembled from one module per group of commands (each adds its own
commands, with their options, handlers and --help examples), and `main`:
  lab.py       up, down, status, reset, env     open.py      open (jupyter_locale.py)
  doctor.py    doctor                           build.py     build
  engine.py    engine start|stop|env|status     workshop.py  workshop create|progress|delete
  bench.py     bench sandbox|node|compare|workshop
common.py holds what they share.
"""
from __future__ import annotations

import argparse
import sys

from kubelab._base import versions
from kubelab._base.errors import KubelabError, UsageError
from kubelab._base.i18n import tr
# (importing kubelab.cli.open binds `open` here, over the builtin: this module opens no file)
from kubelab.cli import bench, build, doctor, engine, lab, open, workshop
from kubelab.cli.common import EXIT_FAILED, EXIT_USAGE

GROUPS = (lab, open, doctor, build, engine, workshop, bench)

# The order `kubelab --help` lists the commands in.
ORDER = ("up", "open", "down", "status", "doctor", "reset", "env", "build", "engine",
         "workshop", "bench")

# One example per command, shown at the end of its --help (tests/test_cli.py checks that
# every command has one).
EXAMPLES = {key: example for group in GROUPS for key, example in group.EXAMPLES.items()}


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
    adders = {verb: add for group in GROUPS for verb, add in group.VERBS.items()}
    for verb in ORDER:
        adders[verb](sub)
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
