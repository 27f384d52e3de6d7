"""What the verb modules share: exit codes, argument types, the options several commands
take, and `command`, which gives every command's --help its example."""
from __future__ import annotations

import argparse
from collections.abc import Callable

from kubelab import _backends as backends
from kubelab._base.i18n import tr

EXIT_FAILED = 1
EXIT_USAGE = 2


def positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(tr("{value!r} is not a whole number of at least 1",
                                            value=value))
    return number


def backend(value: str) -> str:
    names = ("auto", *backends.BACKENDS)
    if value not in names:
        raise argparse.ArgumentTypeError(tr("unknown backend {name!r}; use one of: {names}",
                                            name=value, names=", ".join(names)))
    return value


def options(build: Callable[[argparse.ArgumentParser], None]) -> argparse.ArgumentParser:
    """A parent parser: options several commands share (argparse's `parents=`)."""
    parent = argparse.ArgumentParser(add_help=False)
    build(parent)
    return parent


def cluster_options(p: argparse.ArgumentParser) -> None:
    """Which cluster `up` and `open` start or reuse."""
    p.add_argument("--backend", default="auto", type=backend,
                   help=f"auto (default), {', '.join(backends.BACKENDS)}")
    p.add_argument("--nodes", type=positive, default=None, metavar="N",
                   help="nodes (default: the backend's own, "
                        + ", ".join(f"{n} {b.default_nodes}" for n, b in backends.BACKENDS.items()
                                    if b.default_nodes)
                        + "; at most: "
                        + ", ".join(f"{n} {b.max_nodes}" for n, b in backends.BACKENDS.items()
                                    if b.max_nodes) + ")")
    p.add_argument("--context", help="context to use (backend existing)")
    p.add_argument("--kubeconfig", help="kubeconfig holding --context (backend existing)")


def output_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", choices=["text", "json"], default="text",
                   help="text (default) or json (always JSON, also on failure)")


def command(sub, examples: dict[str, str],  # noqa: ANN001 - argparse's subparsers
            name: str, summary: str, *, parents: tuple[argparse.ArgumentParser, ...] = (),
            key: str = "") -> argparse.ArgumentParser:
    """Add the subcommand `name`; its --help ends with examples[key or name]."""
    example = examples[key or name]
    return sub.add_parser(name, help=summary, description=summary, parents=list(parents),
                          epilog=f"example:\n  {example}",
                          formatter_class=argparse.RawDescriptionHelpFormatter)
