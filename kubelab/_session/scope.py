"""Where a chapter may act: a lab of one's own (its namespaces are made and deleted at
will) or a learner's workshop login (two namespaces the instructor made, nothing
cluster-wide). Every "am I a workshop learner?" is asked here, of `Scope.learner`."""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Protocol

from kubelab._base.contract import (LESSON_LABEL, NODE_PORT_ANNOTATION, PROGRESS_CONFIGMAP,
                                    learner_namespaces)
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import N_, chapter_text, tr
from kubelab._cluster.cluster import Cluster
from kubelab._session import features
from kubelab._session.namespaces import default_namespace  # noqa: F401 - re-export
from kubelab._session.objects import node_ready
from kubelab._session.reads import Reads

WORKSHOP_BACKEND = "workshop"      # the backend name of a learner's login (workshop_login)


class Result(Protocol):
    """What a scope reads of a check's record (grading.CheckResult)."""
    description: str
    passed: bool


class Scope:
    """A chapter's namespaces, node ports, features and progress record, for a lab of
    one's own or for a workshop learner (`learner`); `results` are the chapter's checks,
    shared with its grading."""

    def __init__(self, cluster: Cluster, namespace: str, chapter: str, reads: Reads,
                 results: Sequence[Result], *, learner: bool = False) -> None:
        self.cluster, self.namespace, self.chapter = cluster, namespace, chapter
        self.reads, self.results, self.learner = reads, results, learner
        self._feature_backend: str | None = None

    def say(self, *parts: object, sep: str = " ") -> None:
        """print() for a chapter's own sentences: each string is shown in the learner's
        language (looked up in the chapter's catalogue), anything else as it is."""
        print(sep.join(chapter_text(self.chapter, p) if isinstance(p, str) else str(p)
                       for p in parts))

    # ------------------------------------------------------------------ namespaces
    @property
    def workshop_namespaces(self) -> list[str]:
        """A workshop learner's two namespaces (as `kubelab workshop create` names them)."""
        return learner_namespaces(self.namespace)

    def namespace_for(self, suffix: str) -> str:
        """A second namespace for this chapter (deleted by cleanup, like the first). In a
        workshop it is the learner's second namespace, which the instructor made."""
        if self.learner:
            name = self.workshop_namespaces[1]
            print(tr("(workshop: your second namespace {name} stands in for '{suffix}')",
                     name=name, suffix=suffix))
            return name
        name = f"{self.namespace}-{suffix}"
        self._apply_namespace(name)
        return name

    def _apply_namespace(self, name: str) -> None:
        manifest = {"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": name, "labels": {LESSON_LABEL: self.chapter}}}
        self.cluster.kubectl(["apply", "-f", "-"], input=json.dumps(manifest))

    def node_port(self, which: int = 0) -> int:
        """One of the two fixed nodePorts the chapters use: 30080 and 30123 on a lab of
        one's own; in a workshop, the learner's own pair, so that twenty learners never
        ask for the same cluster-wide port."""
        if not self.learner:
            return (30080, 30123)[which]
        ns = self.reads.get("Namespace", self.namespace, namespace=None) or {}
        base = (ns.get("metadata", {}).get("annotations") or {}).get(NODE_PORT_ANNOTATION)
        if base is None:
            raise KubelabError(tr("your workshop namespace has no nodePort block."),
                               tr("ask your instructor to run `kubelab workshop create` "
                                  "again."))
        return int(base) + which

    # ------------------------------------------------------------------ features
    def feature_backend(self) -> str:
        """The backend whose features apply: a workshop login's follow the shared
        cluster's nodes (simulated by kwok, or real)."""
        if not self.learner:
            return self.cluster.backend
        if self._feature_backend is None:
            nodes = self.reads.list("Node")
            fake = bool(nodes) and all((n["metadata"].get("annotations") or {}).get(
                "kwok.x-k8s.io/node") == "fake" for n in nodes)
            self._feature_backend = features.learner_backend(simulated=fake)
        return self._feature_backend

    def supports(self, feature: str) -> bool:
        """What the backend can do, less what this cluster found it cannot (e.g. a kind
        cluster whose LoadBalancer range this machine has no route to)."""
        missing = self.cluster.details.get("missing_features") or []
        return features.supported(self.feature_backend(), feature) and \
            feature not in missing

    def skip_unless(self, feature: str, what: str, recording: str = "") -> bool:
        """True when the cell may run; otherwise print why it is skipped, and what the
        cell printed on a real cluster, labelled as a recording (kubelab/recordings.py),
        found by `recording` (by default `what`)."""
        if self.supports(feature):
            return True
        print(features.skip_message(self.feature_backend(), feature,
                                    chapter_text(self.chapter, what)))
        from kubelab._session import recordings
        recordings.show(self.chapter, recording or what)
        return False

    # ------------------------------------------------------------------ status
    def status(self) -> dict:
        """Which cluster this notebook talks to, read from the cluster itself."""
        nodes = self.reads.list("Node", namespace=None)
        return {
            "backend": self.cluster.backend,
            "context": self.cluster.context,
            "kubeconfig": self.cluster.kubeconfig,
            "server version": self.cluster.server_version(),
            "created by kubelab": self.cluster.created_by_kubelab,
            "namespace": self.namespace,
            "nodes": [
                (n["metadata"]["name"], "Ready" if node_ready(n) else "NotReady",
                 n["status"]["nodeInfo"].get("kubeletVersion", ""))
                for n in nodes],
        }

    def show_status(self) -> dict:
        info = self.status()
        labels = {k: tr(STATUS_LABELS[k]) for k in info}
        width = max(_width(v) for v in labels.values())
        for key, value in info.items():
            label = " " * (width - _width(labels[key])) + labels[key]
            if key == "nodes":
                print(f"{label}: {len(value)}")
                for name, ready, kubelet in value:
                    print(f"{'':>{width}}  - {name}  {ready}  (kubelet {kubelet})")
            else:
                print(f"{label}: {value}")
        return info

    def record_progress(self) -> None:
        """Keep this chapter's check results in the learner's own namespace, where the
        instructor's `kubelab workshop progress` reads them."""
        from kubernetes import client
        core = client.CoreV1Api(self.reads.api)
        data = {self.chapter: json.dumps({r.description: r.passed for r in self.results})}
        try:
            core.patch_namespaced_config_map(PROGRESS_CONFIGMAP, self.namespace,
                                             {"data": data})
        except client.ApiException as e:
            if e.status != 404:
                raise
            core.create_namespaced_config_map(self.namespace, client.V1ConfigMap(
                metadata=client.V1ObjectMeta(name=PROGRESS_CONFIGMAP), data=data))

    # ------------------------------------------------------------------ lifecycle
    def _delete_namespaces(self, timeout: float, wait: bool = True) -> list[str]:
        """Delete the chapter's namespaces (its own, and any made by namespace_for) and
        the cluster-wide objects it labelled as its own (nodes, IngressClasses); with
        `wait`, until the namespaces are gone. The namespaces deleted."""
        selector = f"{LESSON_LABEL}={self.chapter}"
        self.cluster.kubectl(["delete", "nodes,ingressclasses", "-l", selector,
                              "--ignore-not-found"])
        names = {n["metadata"]["name"] for n in self.reads.list(
            "Namespace", selector=selector, namespace=None)}
        if self.reads.get("Namespace", self.namespace, namespace=None):
            names.add(self.namespace)
        if not names:
            return []
        self.cluster.kubectl(["delete", "namespace", *sorted(names), "--wait=false",
                              "--ignore-not-found"])
        if wait:
            self.reads.wait_for("Namespace", lambda objs: not [
                o for o in objs if o["metadata"]["name"] in names],
                namespace=None, timeout=timeout,
                describe=tr("namespaces {names} to be deleted",
                            names=", ".join(sorted(names))))
        return sorted(names)

    def _empty_workshop_namespaces(self, timeout: float) -> None:
        """A learner may not delete namespaces: empty them instead, keeping the progress
        record and what the cluster itself manages."""
        kinds = ("deployments,replicasets,statefulsets,daemonsets,jobs,cronjobs,pods,"
                 "services,ingresses,secrets,persistentvolumeclaims,"
                 "horizontalpodautoscalers,poddisruptionbudgets,networkpolicies")
        keep = {PROGRESS_CONFIGMAP, "kube-root-ca.crt"}
        for ns in self.workshop_namespaces:
            self.cluster.kubectl(["delete", kinds, "--all", "-n", ns, "--wait=false",
                                  "--ignore-not-found"], timeout=timeout)
            cms = [c["metadata"]["name"] for c in self.reads.list("ConfigMap", namespace=ns)]
            extra = [c for c in cms if c not in keep]
            if extra:
                self.cluster.kubectl(["delete", "configmaps", "-n", ns, *extra,
                                      "--ignore-not-found"])
            self.reads.wait_for("Pod", lambda pods: not pods, namespace=ns, timeout=timeout,
                                describe=tr("the pods in {namespace} to be gone",
                                            namespace=ns),
                                stop_on=False)

    def reset_namespace(self, timeout: float = 90) -> None:
        """Start the chapter from a clean namespace: delete what an earlier run left."""
        if self.learner:
            self._empty_workshop_namespaces(timeout)
            return
        self._delete_namespaces(timeout)
        self._apply_namespace(self.namespace)

    def cleanup(self, timeout: float = 90, wait: bool = False) -> None:
        """Delete the chapter's namespace and everything in it, and stop background
        commands. Safe to run twice. Nothing waits for the namespace to be gone unless
        `wait`: that took most of a chapter's time on the sandbox, and the next chapter
        has a namespace of its own."""
        from kubelab._system.background import stop_all
        stop_all()
        if not self.learner:
            # what the chapter's own backend commands made (a second profile, a node)
            from kubelab._backends import for_cluster
            for_cluster(self.cluster).after_chapter(self.cluster, self.say)
        passed = sum(r.passed for r in self.results)
        if self.learner:
            self._empty_workshop_namespaces(timeout)
        elif deleted := self._delete_namespaces(timeout, wait=wait):
            if not wait:
                # The namespace controller empties them in the background, as after
                # `kubectl delete namespace`; reopening the chapter waits for them.
                print(tr("namespaces {names} are being deleted with everything in them: "
                         "`kubectl get ns` shows them Terminating for a few seconds.",
                         names=", ".join(deleted)))
        print(tr("cleaned up namespace {namespace}; checks passed: {passed}/{total}",
                 namespace=self.namespace, passed=passed, total=len(self.results)))


STATUS_LABELS = {"backend": N_("backend"), "context": N_("context"),
                 "kubeconfig": N_("kubeconfig"), "server version": N_("server version"),
                 "created by kubelab": N_("created by kubelab"),
                 "namespace": N_("namespace"), "nodes": N_("nodes")}


def _width(text: str) -> int:
    """Columns a label takes in a terminal: Hangul is two wide."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def workshop_login(kubeconfig: str, namespace: str = "") -> tuple[Cluster, str]:
    """A learner's kubeconfig from `kubelab workshop create`: its context and namespace."""
    import yaml
    path = os.path.expanduser(kubeconfig)
    try:
        doc = yaml.safe_load(open(path)) or {}
    except (OSError, yaml.YAMLError) as e:
        raise KubelabError(tr("cannot read the workshop kubeconfig {path}: {error}",
                              path=path, error=e),
                           tr("ask your instructor for your kubeconfig file, and pass its "
                              "path as the notebook's `kubeconfig` parameter.")) from None
    context = doc.get("current-context", "")
    ctx = next((c["context"] for c in doc.get("contexts") or [] if c["name"] == context), {})
    ns = namespace or ctx.get("namespace", "")
    if not context or not ns:
        raise KubelabError(tr("{path} names no current context with a namespace.", path=path),
                           tr("use the kubeconfig `kubelab workshop create` wrote for you."))
    return Cluster(backend=WORKSHOP_BACKEND, kubeconfig=path, context=context,
                   created_by_kubelab=False, name=context), ns
