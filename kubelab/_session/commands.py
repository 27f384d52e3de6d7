"""kubectl for a chapter: commands run in its namespace (unless they are about the whole
cluster), as a terminal would show them, and one-off client pods."""
from __future__ import annotations

import re
import shlex
from collections import Counter

from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr
from kubelab._cluster.cluster import (
    Cluster,
    env_without_kubeconfig,
    kubectl_words,
    operands,
    split_verb,
)
from kubelab._session import manifests
from kubelab._session.reads import Reads
from kubelab._system.background import Background


class Commands:
    """The kubectl side of a chapter; `reads` waits for the pods `run_pod` starts."""

    def __init__(self, cluster: Cluster, namespace: str, reads: Reads) -> None:
        self.cluster, self.namespace, self.reads = cluster, namespace, reads

    def kubectl(self, args: str | list[str], *, check: bool = True, timeout: float = 60,
                input: str | None = None, namespace: str | None = "",
                stderr: bool = False) -> str:
        """Run kubectl in the chapter's namespace (namespace=None: no -n) and return
        stdout; with check=False or stderr=True, stdout and stderr together (kubectl's
        warnings and errors are worth seeing)."""
        argv = kubectl_words(args)
        ns = self.namespace if namespace == "" else namespace
        if is_cluster_wide(argv):
            ns = None
        proc = self.cluster.kubectl(argv, namespace=ns, input=input, timeout=timeout,
                                    check=check)
        return proc.stdout if check and not stderr else proc.stdout + proc.stderr

    def background(self, args: str | list[str], seconds: float = 30) -> Background:
        """Start a long-lived kubectl command (port-forward, logs -f, get -w) that stops
        itself after `seconds`, or at `.stop()`."""
        argv = kubectl_words(args)
        full = self.cluster.kubectl_argv(argv, self.namespace_of(argv))
        return Background(full, seconds, label=f"kubectl {' '.join(argv)}",
                          env=env_without_kubeconfig())

    def namespace_of(self, argv: list[str]) -> str | None:
        """The namespace kubelab adds to a command: the chapter's, unless the command names
        one itself or is about the whole cluster."""
        return None if is_cluster_wide(argv) else self.namespace

    def terminal_line(self, args: str | list[str]) -> str:
        """The command as a terminal needs it after `eval "$(kubelab env)"` (which pins
        the context, not the namespace): with `-n NAMESPACE` where kubelab adds one."""
        argv = kubectl_words(args)
        ns = self.namespace_of(argv)
        return "kubectl " + shlex.join((["-n", ns] if ns else []) + argv)

    def apply(self, yaml_text: str) -> str:
        """Apply manifests in the chapter's namespace (malformed YAML is refused first)."""
        manifests.parse(yaml_text)
        return self.kubectl(["apply", "-f", "-"], input=yaml_text)

    def delete(self, yaml_text: str) -> str:
        manifests.parse(yaml_text)
        return self.kubectl(["delete", "--ignore-not-found", "--wait=false", "-f", "-"],
                            input=yaml_text)

    # ------------------------------------------------------------------ client pods
    def run_pod(self, name: str, script: str, *, image: str = "",
                timeout: float = 180) -> str:
        """Run `sh -c script` in a one-off pod to its end and return what it printed.

        `kubectl run --rm -i` attaches only once the container runs, and what the script
        printed before that can be lost (measured here: 2 to 11 of 60 lines); so the pod
        runs to completion and its log is read."""
        from kubelab._base.versions import IMAGES
        self.kubectl(["delete", "pod", name, "--ignore-not-found", "--wait=true"], timeout=90)
        self.kubectl(["run", name, f"--image={image or IMAGES['busybox']}", "--restart=Never",
                      "--", "sh", "-c", script])
        pod = self.reads.wait_for(
            "Pod", lambda ps: bool(ps) and (ps[0].get("status") or {}).get(
                "phase") in ("Succeeded", "Failed"), name=name, timeout=timeout,
            describe=tr("pod {name} to run to its end", name=name))[0]
        out = self.kubectl(["logs", name], timeout=60)
        self.kubectl(["delete", "pod", name, "--wait=false"], check=False)
        if pod["status"]["phase"] == "Failed":
            raise KubelabError(tr("the command in pod {name} failed:\n{output}", name=name,
                                  output=out.strip()[-800:]),
                               tr("read its output above; fix the command and run the cell "
                                  "again."))
        return out

    def ask(self, url: str, *, host: str | None = None, within: float = 10,
            name: str = "client") -> str:
        """One HTTP GET from a client pod inside the cluster (with a Host header if
        given), repeated for up to `within` seconds until it succeeds: a proxy or a
        kube-proxy needs a moment to load a new route. The answer, or '' if none came."""
        return self.ask_each([(url, host)], within=within, name=name)[0]

    def ask_each(self, requests: list[tuple[str, str | None]], *, within: float = 10,
                 name: str = "client") -> list[str]:
        """Like `ask`, for several (url, host) requests in one client pod, in order."""
        from kubelab._session.clients import ask_script, parse_answers
        out = self.run_pod(name, ask_script(requests, within))
        return parse_answers(out, len(requests))

    def answers(self, url: str, times: int = 100, *, host: str | None = None,
                name: str = "client") -> Counter[str]:
        """`times` HTTP GETs from one client pod, counted by answer (agnhost's /hostname
        answers with its pod's name; a failed request counts as 'fail')."""
        from kubelab._session.clients import count_script, parse_counts
        return parse_counts(self.run_pod(name, count_script(url, times, host)))

    def http_get(self, url: str, host_header: str | None = None, within: float = 15) -> str:
        """GET `url` from where the notebook runs (retrying while kube-proxy catches up)."""
        from kubelab._session.traffic import http_get
        return http_get(url, host_header=host_header, within=within)


_CLUSTER_WIDE = {"nodes", "node", "no", "namespaces", "namespace", "ns", "clusterroles",
                 "clusterrole", "clusterrolebindings", "clusterrolebinding", "pv",
                 "persistentvolumes", "storageclasses", "sc", "ingressclasses",
                 "crd", "customresourcedefinitions", "api-resources", "api-versions",
                 "version", "cluster-info", "config", "explain"}


def is_cluster_wide(argv: list[str]) -> bool:
    """Commands about the whole cluster get no -n (kubectl would ignore it anyway, but the
    echo shown to the learner stays what they would type); so do commands that name
    their own namespace."""
    if any(a in ("-A", "--all-namespaces") or a.startswith(("-n=", "--namespace")) or a == "-n"
           for a in argv):
        return True
    verb, rest = split_verb(argv)
    if not verb:
        return False
    if verb in _CLUSTER_WIDE:
        return True
    words = operands(rest)
    return bool(words) and verb in ("get", "describe") and all(
        re.split(r"[/.]", t)[0] in _CLUSTER_WIDE for t in words[0].split(","))
