"""`kubelab workshop create|add|renew|reset|remove|progress|delete`: the command line of
kubelab.workshop, which does the work."""
from __future__ import annotations

import argparse
import json
import time

from kubelab._base.errors import UsageError
from kubelab._base.i18n import tr
from kubelab.cli.common import command, options, output_option, positive

EXAMPLES = {
    "workshop": "kubelab workshop create --context CTX --name ws --count 25 --out logins/",
    "workshop create": "kubelab workshop create --context CTX --name ws "
                       "--learners kim,lee,park --hours 8 --out logins/",
    "workshop add": "kubelab workshop add --context CTX --name ws --learners choi --out logins/",
    "workshop renew": "kubelab workshop renew --context CTX --name ws kim --out logins/",
    "workshop reset": "kubelab workshop reset --context CTX --name ws kim",
    "workshop remove": "kubelab workshop remove --context CTX --name ws park",
    "workshop progress": "kubelab workshop progress --context CTX --name ws -o json",
    "workshop delete": "kubelab workshop delete --context CTX --name ws",
}


def _names(args: argparse.Namespace) -> list[str] | None:
    return args.learners.split(",") if args.learners else None


def cmd_create(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kubelab import workshop
    learners = workshop.learners_from(_names(args), args.count, args.name)
    cluster = workshop.instructor_cluster(args.context, args.kubeconfig)
    print(f"workshop {args.name} on context {cluster.context}: {len(learners)} learners")
    start = time.monotonic()
    made = workshop.create(cluster, learners, Path(args.out), args.hours)
    print(f"{len(made)} learners in {time.monotonic() - start:.1f} s")
    print(f"kubeconfigs (mode 0600) in {args.out}; hand each learner their own file")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kubelab import workshop
    cluster = workshop.instructor_cluster(args.context, args.kubeconfig)
    start = time.monotonic()
    made = workshop.add(cluster, args.name, _names(args), args.count, Path(args.out),
                        args.hours)
    print(f"{len(made)} learners in {time.monotonic() - start:.1f} s")
    print(f"kubeconfigs (mode 0600) in {args.out}; hand each learner their own file")
    return 0


def _chosen(args: argparse.Namespace):          # -> (cluster, learners)
    from kubelab import workshop
    if args.all and args.learner:
        raise UsageError(tr("name learners or pass --all, not both."),
                         tr("leave out either the names or --all."))
    cluster = workshop.instructor_cluster(args.context, args.kubeconfig)
    return cluster, workshop.chosen(cluster, args.name, args.learner, args.all)


def cmd_renew(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kubelab import workshop
    cluster, learners = _chosen(args)
    workshop.renew(cluster, learners, Path(args.out), args.hours, revoke=args.revoke)
    if not args.revoke:
        print("the old tokens keep working until they expire (--revoke ends them)")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    from kubelab import workshop
    cluster, learners = _chosen(args)
    workshop.reset(cluster, learners)
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from kubelab import workshop
    if not args.learner:
        raise UsageError(tr("no learner given."), tr("name the learners to remove."))
    cluster = workshop.instructor_cluster(args.context, args.kubeconfig)
    workshop.remove(cluster, args.name, args.learner)
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
    busy = workshop.busy_namespaces(cluster, args.name)
    if busy and not args.yes:
        raise UsageError(
            tr("{count} learner namespaces of workshop {workshop} still hold pods ({names}): "
               "learners may be at work.", count=len(busy), workshop=args.name,
               names=", ".join(busy[:5]) + (", ..." if len(busy) > 5 else "")),
            tr("to delete it anyway: `kubelab workshop delete --name {workshop} --yes`.",
               workshop=args.name))
    workshop.delete(cluster, args.name)
    return 0


def workshop_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", default="ws", help="workshop name, a prefix of every namespace")
    p.add_argument("--context", help="the shared cluster's context (default: the lab)")
    p.add_argument("--kubeconfig", help="kubeconfig holding --context")


def new_learner_options(p: argparse.ArgumentParser) -> None:
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--learners", metavar="NAMES", help="comma-separated learner names")
    who.add_argument("--count", type=positive, metavar="N",
                     help="or a number of learners (learner01, ... after the last one); "
                          "any number: there is no limit")
    login_options(p)


def login_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hours", type=float, default=8, metavar="H",
                   help="how long the logins last")
    p.add_argument("--out", default="workshop-kubeconfigs", metavar="DIR",
                   help="where kubeconfigs go")


def chosen_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("learner", nargs="*", metavar="LEARNER", help="learner names")
    p.add_argument("--all", action="store_true", help="every learner of the workshop")


def register_workshop(sub) -> None:  # noqa: ANN001 - argparse's subparsers
    workshop_opts = options(workshop_options)
    w = command(sub, EXAMPLES, "workshop", "one shared cluster, a scoped login per learner")
    w_sub = w.add_subparsers(dest="action", required=True, metavar="ACTION")
    command(w_sub, EXAMPLES, "create",
            "namespaces, rights, two fixed nodePorts and an expiring login per learner",
            parents=(workshop_opts, options(new_learner_options)),
            key="workshop create").set_defaults(run=cmd_create)
    command(w_sub, EXAMPLES, "add",
            "late joiners: new learners in a running workshop (new slots and ports, "
            "never reused)", parents=(workshop_opts, options(new_learner_options)),
            key="workshop add").set_defaults(run=cmd_add)
    renew = command(w_sub, EXAMPLES, "renew",
                    "a new login for learners who lost theirs or whose token expired",
                    parents=(workshop_opts, options(chosen_options), options(login_options)),
                    key="workshop renew")
    renew.description = (
        "A new login (a fresh TokenRequest token) for learners who lost theirs or whose "
        "token expired. The old token keeps working until it expires: a TokenRequest "
        "token cannot be revoked on its own. --revoke deletes and recreates the learner's "
        "ServiceAccount, which ends every token it had at once; their objects and "
        "progress stay.")
    renew.add_argument("--revoke", action="store_true",
                       help="end the old tokens now (recreates the ServiceAccount)")
    renew.set_defaults(run=cmd_renew)
    command(w_sub, EXAMPLES, "reset",
            "empty learners' namespaces of what chapters made (quota, rights, reserved "
            "ports and progress stay)", parents=(workshop_opts, options(chosen_options)),
            key="workshop reset").set_defaults(run=cmd_reset)
    remove = command(w_sub, EXAMPLES, "remove",
                     "delete learners' objects, and only theirs (their ports are not "
                     "reused)", parents=(workshop_opts,), key="workshop remove")
    remove.add_argument("learner", nargs="*", metavar="LEARNER", help="learner names")
    remove.set_defaults(run=cmd_remove)
    command(w_sub, EXAMPLES, "progress", "the checks each learner passed, per chapter",
            parents=(workshop_opts, options(output_option)), key="workshop progress"
            ).set_defaults(run=cmd_progress)
    delete = command(w_sub, EXAMPLES, "delete", "delete exactly what create and add made",
                     parents=(workshop_opts,), key="workshop delete")
    delete.add_argument("--yes", action="store_true",
                        help="delete even while learner namespaces hold pods")
    delete.set_defaults(run=cmd_delete)


VERBS = {"workshop": register_workshop}
