"""`kubelab workshop create|progress|delete`: the command line of kubelab.workshop, which
does the work."""
from __future__ import annotations

import argparse
import json

from kubelab.cli.common import command, options, output_option, positive

EXAMPLES = {
    "workshop": "kubelab workshop create --context CTX --name ws --count 25 --out logins/",
    "workshop create": "kubelab workshop create --context CTX --name ws "
                       "--learners kim,lee,park --hours 8 --out logins/",
    "workshop progress": "kubelab workshop progress --context CTX --name ws -o json",
    "workshop delete": "kubelab workshop delete --context CTX --name ws",
}


def cmd_create(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kubelab import workshop
    learners = workshop.learners_from(args.learners.split(",") if args.learners else None,
                                      args.count, args.name)
    cluster = workshop.instructor_cluster(args.context, args.kubeconfig)
    print(f"workshop {args.name} on context {cluster.context}: {len(learners)} learners")
    workshop.create(cluster, learners, Path(args.out), args.hours)
    print(f"kubeconfigs (mode 0600) in {args.out}; hand each learner their own file")
    return 0


def cmd_progress(args: argparse.Namespace) -> int:
    from kubelab import workshop
    cluster = workshop.instructor_cluster(args.context, args.kubeconfig)
    table = workshop.progress(cluster, args.name)
    print(json.dumps(table, indent=2, ensure_ascii=False) if args.output == "json"
          else workshop.progress_table(table))
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from kubelab import workshop
    cluster = workshop.instructor_cluster(args.context, args.kubeconfig)
    workshop.delete(cluster, args.name)
    return 0


def workshop_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", default="ws", help="workshop name, a prefix of every namespace")
    p.add_argument("--context", help="the shared cluster's context (default: the lab)")
    p.add_argument("--kubeconfig", help="kubeconfig holding --context")


def register_workshop(sub) -> None:  # noqa: ANN001 - argparse's subparsers
    workshop_opts = options(workshop_options)
    w = command(sub, EXAMPLES, "workshop", "one shared cluster, a scoped login per learner")
    w_sub = w.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = command(w_sub, EXAMPLES, "create",
                     "namespaces, rights and an expiring login per learner",
                     parents=(workshop_opts,), key="workshop create")
    who = create.add_mutually_exclusive_group(required=True)
    who.add_argument("--learners", metavar="NAMES", help="comma-separated learner names")
    who.add_argument("--count", type=positive, metavar="N",
                     help="or a number of learners (learner01, ...)")
    create.add_argument("--hours", type=float, default=8, metavar="H",
                        help="how long the logins last")
    create.add_argument("--out", default="workshop-kubeconfigs", metavar="DIR",
                        help="where kubeconfigs go")
    create.set_defaults(run=cmd_create)
    command(w_sub, EXAMPLES, "progress", "the checks each learner passed, per chapter",
            parents=(workshop_opts, options(output_option)), key="workshop progress"
            ).set_defaults(run=cmd_progress)
    command(w_sub, EXAMPLES, "delete", "delete exactly what create made",
            parents=(workshop_opts,), key="workshop delete").set_defaults(run=cmd_delete)


VERBS = {"workshop": register_workshop}
