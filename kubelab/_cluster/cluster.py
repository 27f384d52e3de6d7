"""The lab cluster kubelab talks to: which backend, which kubeconfig, which context.

Every call pins the kubeconfig and the context explicitly, so a learner's
`kubectl config use-context` elsewhere can never send a lesson to the wrong cluster.
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kubelab._base.errors import KubelabError
from kubelab._base.i18n import N_, tr
from kubelab._build import binaries
from kubelab._system.paths import state_dir, write_private

STATE_FILE = "lab.json"


@dataclass
class Cluster:
    backend: str
    kubeconfig: str
    context: str
    created_by_kubelab: bool   # False: kubelab never stops or deletes it
    name: str = "kubelab"
    details: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ state
    def save(self) -> None:
        write_private(state_dir() / STATE_FILE, json.dumps(asdict(self), indent=2))

    @staticmethod
    def load() -> Cluster | None:
        path = state_dir() / STATE_FILE
        if not path.exists():
            return None
        try:
            return Cluster(**json.loads(path.read_text()))
        except (ValueError, TypeError):
            return None

    @staticmethod
    def forget() -> None:
        (state_dir() / STATE_FILE).unlink(missing_ok=True)

    # ------------------------------------------------------------------ kubectl
    def kubectl_argv(self, args: list[str], namespace: str | None = None) -> list[str]:
        argv = [str(binaries.kubectl()), "--kubeconfig", self.kubeconfig,
                "--context", self.context]
        if namespace:
            argv += ["--namespace", namespace]
        return argv + list(args)

    def kubectl(self, args: list[str], *, namespace: str | None = None,
                input: str | None = None, timeout: float = 60,
                check: bool = True) -> subprocess.CompletedProcess:
        """Run the real kubectl against the lab, bounded by `timeout` seconds."""
        argv = self.kubectl_argv(args, namespace)
        try:
            proc = subprocess.run(argv, input=input, capture_output=True, text=True,
                                  timeout=timeout, env=env_without_kubeconfig())
        except subprocess.TimeoutExpired:
            raise KubelabError(tr("`kubectl {command}` did not finish in {seconds:.0f} s.",
                                  command=" ".join(args), seconds=timeout),
                               tr("the cluster may be down: run `kubelab status`.")) from None
        if check and proc.returncode != 0:
            raise KubelabError(tr("`kubectl {command}` failed:\n{stderr}",
                                  command=" ".join(args), stderr=proc.stderr.strip()),
                               tr(_fix_for(proc.stderr)))
        return proc

    # ------------------------------------------------------------------ API
    def api_client(self):
        from kubernetes import config
        try:
            return config.new_client_from_config(config_file=self.kubeconfig,
                                                 context=self.context)
        # the client raises ConfigException, ValueError, OSError and more for a bad file
        except Exception as e:  # noqa: BLE001 - each becomes the same clear error
            raise KubelabError(tr("cannot read context {context!r} from {path}: {error}",
                                  context=self.context, path=self.kubeconfig, error=e),
                               tr("run `kubelab up` again, or `kubelab status`.")) from None

    def reachable(self, timeout: float = 5) -> tuple[bool, str]:
        """Whether the apiserver answers /readyz, and its message if not."""
        try:
            proc = self.kubectl(["get", "--raw", "/readyz"], timeout=timeout, check=False)
        except KubelabError as e:
            return False, e.problem
        if proc.returncode == 0:
            return True, "ok"
        return False, proc.stderr.strip()

    def server_version(self) -> str:
        out = self.kubectl(["version", "-o", "json"]).stdout
        return json.loads(out)["serverVersion"]["gitVersion"]


def kubectl_words(args: str | list[str]) -> list[str]:
    """A command as kubectl's arguments: split like a shell, a leading `kubectl` dropped,
    so `"kubectl get pods"`, `"get pods"` and `["get", "pods"]` all mean the same."""
    argv = shlex.split(args) if isinstance(args, str) else list(args)
    return argv[1:] if argv and argv[0] == "kubectl" else argv


# kubectl's global flags that take a value: before the verb, only these can appear, and
# their value is not the verb (`kubectl -n web logs -f p`: the verb is logs, not web).
GLOBAL_VALUE_FLAGS = {
    "-n", "--namespace", "--context", "--kubeconfig", "--cluster", "--user", "-s",
    "--server", "--token", "--as", "--as-group", "--as-uid", "--request-timeout",
    "--cache-dir", "--certificate-authority", "--client-certificate", "--client-key",
    "--tls-server-name", "--username", "--password", "-v", "--v", "--vmodule",
    "--log-flush-frequency", "--profile", "--profile-output", "--kuberc"}
# ... and flags of the common verbs that take a value (`get -l app=web pods`).
VERB_VALUE_FLAGS = {"-l", "--selector", "-o", "--output", "--field-selector", "-c",
                    "--container", "-f", "--filename", "--sort-by", "--template", "-L",
                    "--label-columns", "-p", "--patch", "--type", "--since", "--tail"}


def split_verb(argv: list[str]) -> tuple[str, list[str]]:
    """(verb, the arguments after it), skipping the global flags before the verb."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return "", argv[i + 1:]
        if arg.startswith("-"):
            i += 2 if arg in GLOBAL_VALUE_FLAGS else 1
            continue
        return arg, argv[i + 1:]
    return "", []


def operands(rest: list[str]) -> list[str]:
    """The words after the verb that are not flags nor flag values, up to `--`."""
    out, i = [], 0
    while i < len(rest):
        arg = rest[i]
        if arg == "--":
            break
        if arg.startswith("-"):
            i += 2 if arg in VERB_VALUE_FLAGS | GLOBAL_VALUE_FLAGS else 1
            continue
        out.append(arg)
        i += 1
    return out


def env_without_kubeconfig() -> dict[str, str]:
    """kubectl gets --kubeconfig; a KUBECONFIG in the environment must not merge in."""
    env = dict(os.environ)
    env.pop("KUBECONFIG", None)
    return env


def _fix_for(stderr: str) -> str:
    if "connection refused" in stderr or "no such host" in stderr or "timeout" in stderr:
        return N_("the lab cluster is not answering: run `kubelab status`, then `kubelab up`.")
    if "context was not found" in stderr or "does not exist" in stderr and "context" in stderr:
        return N_("list contexts with `kubectl config get-contexts` and pass an existing one.")
    if "forbidden" in stderr.lower():
        return N_("your account lacks this permission on this cluster.")
    return N_("read kubectl's message above; `kubelab doctor` checks the setup.")


def current(required: bool = True) -> Cluster | None:
    """The lab cluster recorded by `kubelab up`."""
    cluster = Cluster.load()
    if cluster is None and required:
        raise KubelabError(tr("no lab cluster is running."),
                           tr("run `kubelab up` in a terminal, or in a notebook "
                              "`lab = kubelab.open_lab(...)` (it starts one)."))
    return cluster


def kubeconfig_contexts(path: Path) -> list[str]:
    import yaml
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise KubelabError(tr("cannot read kubeconfig {path}: {error}", path=path, error=e),
                           tr("check the path (KUBECONFIG or --kubeconfig).")) from None
    return [c.get("name") for c in data.get("contexts") or [] if isinstance(c, dict)]


def user_kubeconfig(kubeconfig: str | None) -> Path:
    """The kubeconfig a user means: the one named, else kubectl's own default (the first
    file in KUBECONFIG, else ~/.kube/config)."""
    return Path(kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
                or os.path.expanduser("~/.kube/config")).expanduser()


def require_context(path: Path, context: str) -> None:
    names = kubeconfig_contexts(path)
    if context not in names:
        raise KubelabError(tr("context {context!r} is not in {path}.", context=context,
                              path=path),
                           tr("use one of: {names}.", names=", ".join(names) or "(none)"))
