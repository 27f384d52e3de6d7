"""Where a chapter may act: a lab of one's own (its namespaces are made and deleted at
will) or a learner's workshop login (two namespaces the instructor made, nothing
cluster-wide). Every "am I a workshop learner?" is asked here, of `Scope.learner`."""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Protocol

from kubelab._base.contract import (LEARNER_LABEL, LESSON_LABEL, LOGIN_EXTENSION,
                                    NODE_PORT_ANNOTATION, NODE_PORTS_ANNOTATION,
                                    PROGRESS_CONFIGMAP, RESERVATION_ANNOTATION,
                                    ProgressRecord,
                                    WORKSHOP_LABEL, learner_namespaces,
                                    node_port_reservation)
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import N_, chapter_text, tr
from kubelab._cluster.cluster import Cluster
from kubelab._session import facts, features
from kubelab._session.namespaces import default_namespace  # noqa: F401 - re-export
from kubelab._session.objects import node_ready
from kubelab._session.reads import Reads

WORKSHOP_BACKEND = "workshop"      # the backend name of a learner's login (workshop_login)


class Result(Protocol):
    """What a scope reads of a check's record (grading.CheckResult)."""
    description: str
    passed: bool
    detail: str


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
        one's own; in a workshop, the learner's own, so that no two learners ever ask for
        the same cluster-wide port. The workshop holds it with a reservation Service until
        now: that is released here, right before the cell uses the port."""
        if not self.learner:
            port = (30080, 30123)[which]
            self._take_back_node_port(port)
            return port
        ns = self.reads.get("Namespace", self.namespace, namespace=None) or {}
        ports = learner_node_ports(ns)
        if len(ports) <= which:
            raise KubelabError(tr("your workshop namespace has no nodePort block."),
                               tr("ask your instructor: the namespaces `kubelab workshop "
                                  "add` makes carry their ports."))
        release_node_port(self.reads.api, self.namespace, which)
        return ports[which]

    def _take_back_node_port(self, port: int) -> None:
        """On a lab of one's own, 01 and 06 use the same fixed nodePort. A chapter left
        unfinished still holds it: its Service is deleted here, with a line saying so, as
        that chapter's cleanup would have done. A Service kubelab did not make is never
        touched: the cell stops with its name and the fix."""
        try:                     # "" is every namespace
            services = self.reads.list("Service", namespace="")
            chapters = {n["metadata"]["name"]: (n["metadata"].get("labels") or {}).get(
                LESSON_LABEL) for n in self.reads.list("Namespace", namespace="")}
        except KubelabError:     # a login that may not list them: the cell will tell
            return
        for svc in services:
            meta = svc["metadata"]
            if port not in facts.node_ports(svc) or meta["namespace"] == self.namespace:
                continue
            owner = chapters.get(meta["namespace"])
            if not owner:
                raise KubelabError(
                    tr("nodePort {port} is held by the Service {name} in namespace "
                       "{namespace}, which kubelab did not make.", port=port,
                       name=meta["name"], namespace=meta["namespace"]),
                    tr("delete that Service, or give it another nodePort, then run this "
                       "cell again."))
            self.cluster.kubectl(["delete", "service", meta["name"], "-n", meta["namespace"],
                                  "--wait=true"])
            print(tr("(nodePort {port} was still held by chapter {chapter}'s Service {name}, "
                     "left from a run that did not reach its cleanup: deleted it)",
                     port=port, chapter=owner, name=meta["name"]))

    def host(self, name: str) -> str:
        """A host name for an Ingress or a Gateway route: `name.example.test` on a lab of
        one's own; in a workshop `name.<namespace>.example.test`, because one shared
        controller serves every learner's rules, and two learners claiming the same host
        would be answered by each other's pods."""
        if not self.learner:
            return f"{name}.example.test"
        return f"{name}.{self.namespace}.example.test"

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
        instructor's `kubelab workshop progress` and live board read them: each check,
        the time, and the check that failed last with the time it first failed in a row
        (so the board can tell who is stuck)."""
        from kubernetes import client
        core = client.CoreV1Api(self.reads.api)
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        last = self.results[-1] if self.results else None
        record = ProgressRecord(checks={r.description: r.passed for r in self.results}, at=now)
        if last is not None and not last.passed:   # since when: the record's, if the same
            try:
                kept = core.read_namespaced_config_map(PROGRESS_CONFIGMAP, self.namespace)
                before = ProgressRecord.loads((kept.data or {}).get(self.chapter))
            except client.ApiException as e:
                if e.status != 404:
                    raise
                before = ProgressRecord()
            record.failing, record.detail = last.description, str(last.detail)[:300]
            record.since = before.since if before.failing == last.description and \
                before.since else now
        data = {self.chapter: record.dumps()}
        try:
            core.patch_namespaced_config_map(PROGRESS_CONFIGMAP, self.namespace, {"data": data})
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
        """A learner may not delete namespaces: empty them instead (empty_learner_namespaces)."""
        empty_learner_namespaces(self.cluster, self.reads, self.workshop_namespaces, timeout)

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


# ------------------------------------------------------------------ a workshop learner's
# namespaces, node ports and login. The instructor's `kubelab workshop reset` runs the same
# code as a chapter's first cell, so both leave a learner's namespaces alike.
CHAPTER_KINDS = ("deployments,replicasets,statefulsets,daemonsets,jobs,cronjobs,pods,"
                 "services,ingresses,secrets,persistentvolumeclaims,"
                 "horizontalpodautoscalers,poddisruptionbudgets,networkpolicies")
# What chapters make, less the workshop's own objects (they carry its label: the node-port
# reservations; the quota, limits, Role and ServiceAccount are not among CHAPTER_KINDS).
CHAPTER_OBJECTS = f"!{WORKSHOP_LABEL}"


def empty_learner_namespaces(cluster: Cluster, reads: Reads, namespaces: Sequence[str],
                             timeout: float = 90) -> None:
    """Empty a learner's namespaces of what chapters make, keeping the workshop's own
    objects (quota, limits, Role, ServiceAccount, node-port reservations), the progress
    record and what the cluster itself manages; then hold the learner's fixed nodePorts
    again that a chapter had taken out of their reservations."""
    keep = {PROGRESS_CONFIGMAP, "kube-root-ca.crt"}
    for ns in namespaces:
        cluster.kubectl(["delete", CHAPTER_KINDS, "-l", CHAPTER_OBJECTS, "-n", ns,
                         "--wait=false", "--ignore-not-found"], timeout=timeout)
        cms = [c["metadata"]["name"] for c in reads.list("ConfigMap", namespace=ns)]
        extra = [c for c in cms if c not in keep]
        if extra:
            cluster.kubectl(["delete", "configmaps", "-n", ns, *extra, "--ignore-not-found"])
        reads.wait_for("Pod", lambda pods: not pods, namespace=ns, timeout=timeout,
                       describe=tr("the pods in {namespace} to be gone", namespace=ns),
                       stop_on=False)
    if namespaces:
        reserve_node_ports(reads.api, namespaces[0])


def learner_node_ports(namespace: dict | None) -> list[int]:
    """A learner's fixed nodePorts, from their namespace's annotations."""
    notes = ((namespace or {}).get("metadata") or {}).get("annotations") or {}
    if notes.get(NODE_PORTS_ANNOTATION):
        return [int(p) for p in notes[NODE_PORTS_ANNOTATION].split(",")]
    if notes.get(NODE_PORT_ANNOTATION):            # a workshop made before issue 21
        return [int(notes[NODE_PORT_ANNOTATION]) + i for i in (0, 1)]
    return []


def reservation_manifest(namespace: str, labels: dict[str, str], which: int,
                         port: int) -> dict:
    """A NodePort Service of the workshop's own that holds one of a learner's fixed ports:
    the apiserver's allocator then gives it to nobody else. No selector: it routes nowhere."""
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": node_port_reservation(which), "namespace": namespace,
                         "labels": labels,
                         "annotations": {RESERVATION_ANNOTATION: str(which)}},
            "spec": {"type": "NodePort", "ports": [
                {"name": "reserved", "port": 80 + which, "protocol": "TCP",
                 "nodePort": port}]}}


def release_node_port(api, namespace: str, which: int) -> bool:  # noqa: ANN001 - ApiClient
    """Delete the reservation of a learner's `which`-th port, so their cell can use it."""
    from kubernetes import client
    core = client.CoreV1Api(api)
    try:
        svc = core.read_namespaced_service(node_port_reservation(which), namespace)
        if RESERVATION_ANNOTATION not in (svc.metadata.annotations or {}):
            return False                       # the learner's own Service of that name
        core.delete_namespaced_service(node_port_reservation(which), namespace)
        return True
    except client.ApiException as e:
        if e.status == 404:
            return False
        raise


def reserve_node_ports(api, namespace: str) -> list[int]:  # noqa: ANN001 - ApiClient
    """Hold again each of a learner's fixed ports that is neither reserved nor used by a
    Service of theirs. A port someone else took meanwhile stays unreserved (the chapter's
    cell then says the port is allocated); the next reset tries again. Ports held."""
    from kubernetes import client
    core = client.CoreV1Api(api)
    ns = core.read_namespace(namespace)
    ports = learner_node_ports(api.sanitize_for_serialization(ns))
    labels = {k: v for k, v in (ns.metadata.labels or {}).items()
              if k in (WORKSHOP_LABEL, LEARNER_LABEL)}
    in_use = {p.node_port for s in core.list_namespaced_service(namespace).items
              for p in (s.spec.ports or []) if p.node_port}
    held = []
    for which, port in enumerate(ports):
        if port in in_use:
            held.append(port)
            continue
        try:
            core.create_namespaced_service(namespace, reservation_manifest(
                namespace, labels, which, port))
            held.append(port)
        except client.ApiException as e:
            if e.status not in (409, 422):     # 422: the port is allocated elsewhere
                raise
    return held


STATUS_LABELS = {"backend": N_("backend"), "context": N_("context"),
                 "kubeconfig": N_("kubeconfig"), "server version": N_("server version"),
                 "created by kubelab": N_("created by kubelab"),
                 "namespace": N_("namespace"), "nodes": N_("nodes")}


def _width(text: str) -> int:
    """Columns a label takes in a terminal: Hangul is two wide."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


class LearnerLogin(Cluster):
    """A workshop learner's login: a Cluster whose calls, when the apiserver answers 401
    Unauthorized (the token expired), say so and name the instructor's fix."""

    def expired(self) -> KubelabError:
        workshop, learner = login_names(self.kubeconfig)
        return KubelabError(tr("your workshop login has expired."),
                            tr("ask your instructor for a new one (`kubelab workshop renew "
                               "--name {workshop} {learner}`).", workshop=workshop,
                               learner=learner))

    def kubectl(self, args: list[str], **kw):
        # a command with credentials of its own (chapter 03's scratch kubeconfigs) may
        # be refused on purpose
        own = not any(a.split("=")[0] in ("--kubeconfig", "--token", "--user", "--as")
                      for a in args)
        try:
            proc = super().kubectl(args, **kw)
        except KubelabError as e:
            if own and "(Unauthorized)" in e.problem:
                raise self.expired() from None
            raise
        if own and proc.returncode != 0 and "(Unauthorized)" in proc.stderr:
            raise self.expired()
        return proc

    def reachable(self, timeout: float = 5) -> tuple[bool, str]:
        ok, why = super().reachable(timeout)
        if not ok and why == self.expired().problem:
            raise self.expired()            # it answers: the login is what is wrong
        return ok, why

    def api_client(self):
        from kubernetes.client.exceptions import ApiException
        api = super().api_client()

        def said_401(method):  # noqa: ANN001
            def wrapped(*a, **kw):
                try:
                    return method(*a, **kw)
                except ApiException as e:
                    if e.status == 401:
                        raise self.expired() from None
                    raise
            return wrapped
        # the client raises a refusal in one or the other, by its version
        api.call_api = said_401(api.call_api)
        if hasattr(api, "response_deserialize"):
            api.response_deserialize = said_401(api.response_deserialize)
        return api


def login_names(kubeconfig: str) -> tuple[str, str]:
    """(workshop, learner) as `kubelab workshop` wrote them into a learner's kubeconfig;
    ("WS", "LEARNER") when it does not say."""
    import yaml
    try:
        doc = yaml.safe_load(open(os.path.expanduser(kubeconfig))) or {}
    except (OSError, yaml.YAMLError):
        doc = {}
    for ctx in doc.get("contexts") or []:
        for ext in (ctx.get("context") or {}).get("extensions") or []:
            if ext.get("name") == LOGIN_EXTENSION:
                info = ext.get("extension") or {}
                return info.get("workshop", "WS"), info.get("learner", "LEARNER")
    return "WS", "LEARNER"


def token_expiry(token: str) -> float | None:
    """When a service-account token expires (its `exp` claim; the signature is the
    apiserver's business), or None if it does not say."""
    import base64
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, KeyError, TypeError, ValueError):
        return None


def workshop_login(kubeconfig: str, namespace: str = "") -> tuple[Cluster, str]:
    """A learner's kubeconfig from `kubelab workshop create`: its context and namespace.
    An expired token is refused here, with the fix, before any call."""
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
    login = LearnerLogin(backend=WORKSHOP_BACKEND, kubeconfig=path, context=context,
                         created_by_kubelab=False, name=context)
    user = ctx.get("user")
    token = next((u.get("user", {}).get("token", "") for u in doc.get("users") or []
                  if u.get("name") == user), "")
    import time
    expiry = token_expiry(token) if token else None
    if expiry is not None and expiry <= time.time():
        raise login.expired()
    return login, ns
