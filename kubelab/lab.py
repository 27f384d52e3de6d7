"""A chapter's session with the cluster: the pinned lab context plus the chapter's own
namespace, and what notebooks call (kubectl, apply, read, wait, check, cleanup)."""
from __future__ import annotations

import json
import os
import re
import shlex
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from . import features, manifests, watching
from .background import Background
from .cluster import Cluster, env_without_kubeconfig, kubectl_words, operands, split_verb
from .errors import CheckFailed, KubelabError, WaitTimeout
from .i18n import N_, chapter_text, set_language, tr

if TYPE_CHECKING:
    from .traffic import Traffic
    from .background import FileServer
    from .live import LiveView
    from .scratch import ScratchKubeconfigs

LESSON_LABEL = "kubelab.dev/lesson"

_CURRENT: "Lab | None" = None


def current_lab() -> "Lab":
    if _CURRENT is None:
        raise KubelabError(tr("no chapter is open in this notebook."),
                           tr("run the first code cell (`lab = kubelab.open_lab(...)`)."))
    return _CURRENT


@dataclass
class CheckResult:
    description: str
    passed: bool
    detail: str = ""


@dataclass
class Lab:
    cluster: Cluster
    namespace: str
    chapter: str
    results: list[CheckResult] = field(default_factory=list)
    workshop: bool = False          # a learner's scoped login to a shared cluster
    _api: object = None
    _dynamic: object = None
    _feature_backend: str | None = None

    # ------------------------------------------------------------------ kubectl
    def kubectl(self, args: str | list[str], *, check: bool = True, timeout: float = 60,
                input: str | None = None, namespace: str | None = "",
                stderr: bool = False) -> str:
        """Run kubectl in the chapter's namespace (namespace=None: no -n) and return
        stdout; with check=False or stderr=True, stdout and stderr together (kubectl's
        warnings and errors are worth seeing)."""
        argv = kubectl_words(args)
        ns = self.namespace if namespace == "" else namespace
        if _is_cluster_wide(argv):
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
        return None if _is_cluster_wide(argv) else self.namespace

    def terminal_line(self, args: str | list[str]) -> str:
        """The command as a terminal needs it after `eval "$(kubelab env)"` (which pins
        the context, not the namespace): with `-n NAMESPACE` where kubelab adds one."""
        argv = kubectl_words(args)
        ns = self.namespace_of(argv)
        return "kubectl " + shlex.join((["-n", ns] if ns else []) + argv)

    def run_pod(self, name: str, script: str, *, image: str = "",
                timeout: float = 180) -> str:
        """Run `sh -c script` in a one-off pod to its end and return what it printed.

        `kubectl run --rm -i` attaches only once the container runs, and what the script
        printed before that can be lost (measured here: 2 to 11 of 60 lines); so the pod
        runs to completion and its log is read."""
        from .versions import IMAGES
        self.kubectl(["delete", "pod", name, "--ignore-not-found", "--wait=true"], timeout=90)
        self.kubectl(["run", name, f"--image={image or IMAGES['busybox']}", "--restart=Never",
                      "--", "sh", "-c", script])
        pod = self.wait_for("Pod", lambda ps: bool(ps) and (ps[0].get("status") or {}).get(
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

    def http_get(self, url: str, host_header: str | None = None, within: float = 15) -> str:
        """GET `url` from where the notebook runs (retrying while kube-proxy catches up)."""
        from .traffic import http_get
        return http_get(url, host_header=host_header, within=within)

    def traffic(self, url: str, seconds: int = 180) -> "Traffic":
        """Requests to `url` from a client pod, counted at `.stop()` (containers needed)."""
        from .traffic import Traffic
        return Traffic(self, url, seconds=seconds)

    def apply(self, yaml_text: str) -> str:
        """Apply manifests in the chapter's namespace (malformed YAML is refused first)."""
        manifests.parse(yaml_text)
        return self.kubectl(["apply", "-f", "-"], input=yaml_text)

    def delete(self, yaml_text: str) -> str:
        manifests.parse(yaml_text)
        return self.kubectl(["delete", "--ignore-not-found", "--wait=false", "-f", "-"],
                            input=yaml_text)

    # ------------------------------------------------------------------ API
    @property
    def api(self):  # noqa: ANN201 - kubernetes.client.ApiClient
        if self._api is None:
            self._api = self.cluster.api_client()
        return self._api

    @property
    def dynamic(self):  # noqa: ANN201 - kubernetes.dynamic.DynamicClient
        if self._dynamic is None:
            from kubernetes.dynamic import DynamicClient
            self._dynamic = DynamicClient(self.api)
        return self._dynamic

    def _ns(self, kind: str, namespace: str | None) -> str | None:
        return namespace if namespace is not None else self.namespace

    def list(self, kind: str, selector: str | None = None,
             namespace: str | None = None) -> list[dict]:
        resource = watching.resource_for(self.dynamic, kind)
        objs, _ = watching.snapshot(resource, self._ns(kind, namespace), selector=selector)
        return sorted(objs.values(), key=lambda o: o["metadata"]["name"])

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict | None:
        resource = watching.resource_for(self.dynamic, kind)
        return watching.get_one(resource, name, self._ns(kind, namespace))

    def wait_for(self, kind: str, until: Callable[[list[dict]], bool], *,
                 name: str | None = None, selector: str | None = None,
                 namespace: str | None = None, timeout: float = 60,
                 describe: str = "", progress: bool = True,
                 stop_on: bool = True) -> list[dict]:
        """Wait until `until(objects)` holds for the objects of `kind` (one by `name`, or
        all matching `selector`). A wait of more than a moment shows what it waits for and
        the cluster's events about it; with `stop_on` it stops early when the cluster says
        it cannot succeed (ImagePullBackOff, a crash loop, a quota refusal)."""
        return watching.wait_for(self.dynamic, kind, until, namespace=self._ns(kind, namespace),
                                 name=name, selector=selector, timeout=timeout,
                                 describe=describe, progress=progress, stop_on=stop_on)

    def wait_pods(self, selector: str, count: int, *, timeout: float = 60,
                  ready: bool = True) -> list[dict]:
        """Wait until exactly `count` pods match `selector` (Ready ones, if `ready`),
        not counting pods on their way out."""
        def done(pods: list[dict]) -> bool:
            live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
            return len(live) == count and (not ready or all(pod_ready(p) for p in live))
        pods = self.wait_for("Pod", done, selector=selector, timeout=timeout,
                             describe=tr("{count} Ready pods with {selector}", count=count,
                                         selector=selector) if ready else
                             tr("{count} pods with {selector}", count=count, selector=selector),
                             stop_on=count > 0)
        return [p for p in pods if not p["metadata"].get("deletionTimestamp")]

    def wait_rollout(self, deployment: str, timeout: float = 90) -> dict:
        """Wait until a Deployment's newest ReplicaSet has all replicas updated and ready
        and no old pod is left (what `kubectl rollout status` waits for)."""
        def done(objs: list[dict]) -> bool:
            if not objs:
                return False
            d = objs[0]
            spec, st = d.get("spec") or {}, d.get("status") or {}
            want = spec.get("replicas", 1)
            return (st.get("observedGeneration", 0) >= d["metadata"].get("generation", 0)
                    and st.get("updatedReplicas", 0) == want
                    and st.get("replicas", 0) == want
                    and st.get("availableReplicas", 0) == want)
        return self.wait_for("Deployment", done, name=deployment, timeout=timeout,
                             describe=tr("deployment/{name} to finish its rollout",
                                         name=deployment))[0]

    # ------------------------------------------------------------------ checks
    def check(self, description: str, condition: Callable[[], object] | bool,
              hint: str = "", *, within: float = 0, watch: str = "Pod") -> None:
        """Assert a claim about the cluster: print ✓ and go on, or stop with ✗ and a hint.
        `condition` may return a bool or (bool, detail). With `within`, give the cluster
        that many seconds to settle: the condition is evaluated again on every change to
        `watch` objects in the chapter's namespace (the watch API, not a sleep loop)."""
        def evaluate() -> tuple[bool, str]:
            try:
                value = condition() if callable(condition) else condition
            except KubelabError as e:
                value = (False, e.problem)
            ok, detail = value if isinstance(value, tuple) else (bool(value), "")
            return bool(ok), str(detail)

        passed, detail = evaluate()
        if not passed and within > 0:
            last = [(passed, detail)]

            def settled(_objects: list[dict]) -> bool:
                last[0] = evaluate()
                return last[0][0]
            try:
                self.wait_for(watch, settled, timeout=within,
                              describe=chapter_text(self.chapter, description),
                              progress=within > 5)
            except WaitTimeout:     # not settled in time: report the last evaluation
                pass
            passed, detail = last[0]
        # the record keeps the English description (the instructor's progress table
        # reads it); what is printed is in the learner's language
        self.results.append(CheckResult(description, passed, detail))
        if self.workshop:
            self._record_progress()
        shown = chapter_text(self.chapter, description)
        if passed:
            print(f"✓ {shown}" + (f"  ({detail})" if detail else ""))
            return
        raise CheckFailed(shown + (tr("\n  seen: {detail}", detail=detail) if detail else ""),
                          chapter_text(self.chapter, hint) if hint else
                          tr("compare your cluster with the experiment above."))

    def exercise(self, exercise_id: str, description: str, condition: Callable[[], object],
                 hint: str, *, given: dict | None = None, watch: str = "Pod",
                 solution: Callable[..., object] | None = None) -> None:
        """Check a learner's answer to this chapter's exercise `exercise_id`.

        Unsolved, it fails with the hint (a nudge, never the answer); the answer waits in
        the chapter's folded Solution. With KUBELAB_SOLVE=1 (CI), an unsolved exercise
        runs its solution, kept out of the notebook in kubelab/solutions/ (by chapter and
        exercise id; `given` passes it the notebook's values it needs, such as a URL),
        and checks again: every exercise is tested both unsolved and solved. `solution`
        replaces the stored one (tests)."""
        from . import solutions
        try:
            self.check(description, condition, hint, within=3, watch=watch)
            return
        except CheckFailed as failed:
            if os.environ.get("KUBELAB_SOLVE") != "1":
                raise CheckFailed(failed.problem, failed.fix + tr(
                    "\n  stuck? the Solution below the check (click to open) shows one "
                    "answer.")) from None
            self.results.pop()
        solve = solution or solutions.find(self.chapter, exercise_id)
        print(tr("(not solved yet; KUBELAB_SOLVE=1, so running the solution of exercise "
                 "{exercise}: {steps})", exercise=exercise_id,
                 steps=solutions.describe(solve)))
        solve(self, **(given or {}))
        self.check(description, condition, hint, within=30, watch=watch)

    # ------------------------------------------------------------------ what checks ask
    def names(self, kind: str, selector: str | None = None,
              namespace: str | None = None) -> list[str]:
        """The names of the objects of `kind` (matching `selector`), leaving out those on
        their way out."""
        return [o["metadata"]["name"] for o in self.list(kind, selector, namespace)
                if not o["metadata"].get("deletionTimestamp")]

    def ready_pods(self, selector: str, namespace: str | None = None) -> list[dict]:
        """The pods matching `selector` that are Ready now (no waiting)."""
        return [p for p in self.list("Pod", selector, namespace)
                if pod_ready(p) and not p["metadata"].get("deletionTimestamp")]

    def image_tags(self, selector: str, count: int) -> list[str]:
        """Once `count` pods match `selector` and are Ready: their images' tags, sorted
        (['2.59', '2.59', '2.63.0'])."""
        from . import facts
        return facts.image_tags(self.wait_pods(selector, count))

    def ready_endpoints(self, service: str) -> list[str]:
        """The addresses a Service sends to now: its EndpointSlices' ready endpoints."""
        from . import facts
        return facts.ready_addresses(self.list(
            "EndpointSlice", selector=f"kubernetes.io/service-name={service}"))

    def wait_endpoints(self, service: str, count: int, timeout: float = 30) -> list[str]:
        """Wait until a Service has `count` ready endpoints; return their addresses."""
        self.wait_for("EndpointSlice", lambda _: len(self.ready_endpoints(service)) == count,
                      selector=f"kubernetes.io/service-name={service}", timeout=timeout,
                      describe=tr("{count} ready endpoints behind {service}", count=count,
                                  service=service))
        return self.ready_endpoints(service)

    def ask(self, url: str, *, host: str | None = None, within: float = 10,
            name: str = "client") -> str:
        """One HTTP GET from a client pod inside the cluster (with a Host header if
        given), repeated for up to `within` seconds until it succeeds: a proxy or a
        kube-proxy needs a moment to load a new route. The answer, or '' if none came."""
        return self.ask_each([(url, host)], within=within, name=name)[0]

    def ask_each(self, requests: list[tuple[str, str | None]], *, within: float = 10,
                 name: str = "client") -> list[str]:
        """Like `ask`, for several (url, host) requests in one client pod, in order."""
        from .clients import ask_script, parse_answers
        out = self.run_pod(name, ask_script(requests, within))
        return parse_answers(out, len(requests))

    def answers(self, url: str, times: int = 100, *, host: str | None = None,
                name: str = "client") -> "Counter[str]":
        """`times` HTTP GETs from one client pod, counted by answer (agnhost's /hostname
        answers with its pod's name; a failed request counts as 'fail')."""
        from .clients import count_script, parse_counts
        return parse_counts(self.run_pod(name, count_script(url, times, host)))

    def ingress_controller(self) -> dict | None:
        """The Service of a Traefik or ingress-nginx controller, if one runs here (in
        kube-system, traefik or ingress-nginx); None when none is found or visible."""
        for ns in ("kube-system", "traefik", "ingress-nginx"):
            try:
                services = self.list("Service", namespace=ns)
            except KubelabError:      # a workshop login cannot look there
                continue
            for s in services:
                if (s["metadata"].get("labels") or {}).get("app.kubernetes.io/name") in (
                        "traefik", "ingress-nginx"):
                    return s
        return None

    def gateway_api(self) -> bool:
        """Whether this chapter can use the Gateway API here: the cluster serves it (when
        it does not and this login may install CRDs, the pinned standard CRDs are
        installed first; kubelab/gateway.py), and this login may create Gateways and
        HTTPRoutes. Otherwise prints why not (a ⏭ line) and returns False."""
        from . import gateway
        if not gateway.installed(self.cluster):
            if not self.skip_unless("cluster-admin", tr("installing the Gateway API CRDs "
                                                        "(cluster-wide objects)")):
                return False
            try:
                gateway.install(self.cluster)
            except KubelabError as e:
                print(tr("⏭ skipped: the Gateway API is not installed here, and kubelab "
                         "could not install it: {problem} ({fix})", problem=e.problem,
                         fix=e.fix))
                return False
        answers = [self.kubectl(["auth", "can-i", "create", f"{kind}.{gateway.GROUP}"],
                                check=False).split()[:1] for kind in ("gateways", "httproutes")]
        if answers != [["yes"], ["yes"]]:
            print(tr("⏭ skipped: this login may not create Gateways and HTTPRoutes in "
                     "{namespace}.", namespace=self.namespace))
            return False
        return True

    def say(self, *parts: object, sep: str = " ") -> None:
        """print() for a chapter's own sentences: each string is shown in the learner's
        language (looked up in the chapter's catalogue), anything else as it is."""
        print(sep.join(chapter_text(self.chapter, p) if isinstance(p, str) else str(p)
                       for p in parts))

    # ------------------------------------------------------------------ watching
    def live(self, kinds: list[str] | str, selector: str | None = None,
             seconds: float = 20) -> "LiveView":
        """A live view of these kinds in the chapter's namespace, for at most `seconds`;
        use it as `with lab.live(...) as view:` around the change you want to watch."""
        from .live import LiveView
        kinds = [k.strip() for k in kinds.split(",")] if isinstance(kinds, str) else kinds
        return LiveView(self, kinds, selector, seconds)

    def serve(self, directory: str, seconds: float | None = None) -> "FileServer":
        """Serve local files on 127.0.0.1, to `kubectl apply -f http://...`: until the
        chapter's cleanup (or `.stop()`), or for `seconds` when given."""
        from .background import FileServer
        return FileServer(directory, seconds)

    def scratch_kubeconfigs(self) -> "ScratchKubeconfigs":
        from .scratch import ScratchKubeconfigs
        return ScratchKubeconfigs(self.cluster)

    def tool(self, command: str, *, needs: str, timeout: float = 60) -> str | None:
        """Run a backend's own CLI (minikube, k3s, kind) when this lab is that backend;
        elsewhere show the command and why it did not run. What it prints is shown as it
        comes (`minikube service --url` prints its URL, then keeps running: the URL
        appears at once, and the command is stopped after `timeout` seconds)."""
        print(f"$ {command}")
        if not self.skip_unless(needs, f"`{command}`"):
            return None
        from .background import stream
        argv, env = shlex.split(command), None
        is_minikube = argv[0] == "minikube"
        if is_minikube:
            from .backends import minikube
            argv, added = minikube.command_argv(argv)
            env = minikube.env()
            if added:
                print(tr("(kubelab adds, because this machine cannot pull minikube's images: "
                         "{flags})", flags=" ".join(added)))
        elif argv[0] == "docker":
            from .engine import docker_env
            env = {**os.environ, **docker_env()}
        try:
            out, finished = stream(argv, seconds=timeout, what=f"`{command}`", env=env)
        except FileNotFoundError:
            raise KubelabError(tr("{program} is not installed.", program=command.split()[0]),
                               tr("install it, or use another backend.")) from None
        if not finished:
            print(tr("(stopped after {seconds:.0f} s)", seconds=timeout))
        elif is_minikube:
            minikube.after_command(argv, self.cluster, self.say)
        return out

    def node_containers(self) -> dict[str, str]:
        """minikube's node containers on the Docker engine: name -> state ("running",
        "exited"), as `docker ps -a` shows them."""
        from .backends import minikube
        return minikube.node_containers()

    @property
    def workshop_namespaces(self) -> list[str]:
        """A workshop learner's two namespaces (as `kubelab workshop create` names them)."""
        return [self.namespace, f"{self.namespace}-b"]

    def namespace_for(self, suffix: str) -> str:
        """A second namespace for this chapter (deleted by cleanup, like the first). In a
        workshop it is the learner's second namespace, which the instructor made."""
        if self.workshop:
            name = self.workshop_namespaces[1]
            print(tr("(workshop: your second namespace {name} stands in for '{suffix}')",
                     name=name, suffix=suffix))
            return name
        name = f"{self.namespace}-{suffix}"
        manifest = {"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": name, "labels": {LESSON_LABEL: self.chapter}}}
        self.cluster.kubectl(["apply", "-f", "-"], input=json.dumps(manifest))
        return name

    # ------------------------------------------------------------------ backends
    def _backend_for_features(self) -> str:
        """A workshop login's features follow the shared cluster's nodes."""
        if self.cluster.backend != "workshop":
            return self.cluster.backend
        if self._feature_backend is None:
            nodes = self.list("Node")
            fake = bool(nodes) and all((n["metadata"].get("annotations") or {}).get(
                "kwok.x-k8s.io/node") == "fake" for n in nodes)
            self._feature_backend = "workshop-sandbox" if fake else "workshop-containers"
        return self._feature_backend

    def supports(self, feature: str) -> bool:
        """What the backend can do, less what this cluster found it cannot (e.g. a kind
        cluster whose LoadBalancer range this machine has no route to)."""
        missing = self.cluster.details.get("missing_features") or []
        return features.supported(self._backend_for_features(), feature) and \
            feature not in missing

    def skip_unless(self, feature: str, what: str) -> bool:
        """True when the cell may run; otherwise print why it is skipped."""
        if self.supports(feature):
            return True
        print(features.skip_message(self._backend_for_features(), feature,
                                    chapter_text(self.chapter, what)))
        return False

    def node_port(self, which: int = 0) -> int:
        """One of the two fixed nodePorts the chapters use: 30080 and 30123 on a lab of
        one's own; in a workshop, the learner's own pair, so that twenty learners never
        ask for the same cluster-wide port."""
        if not self.workshop:
            return (30080, 30123)[which]
        ns = self.get("Namespace", self.namespace, namespace=None) or {}
        base = (ns.get("metadata", {}).get("annotations") or {}).get(
            "kubelab.dev/node-port-base")
        if base is None:
            raise KubelabError(tr("your workshop namespace has no nodePort block."),
                               tr("ask your instructor to run `kubelab workshop create` "
                                  "again."))
        return int(base) + which

    def status(self) -> dict:
        """Which cluster this notebook talks to, read from the cluster itself."""
        nodes = self.list("Node", namespace=None)
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

    def _record_progress(self) -> None:
        """Keep this chapter's check results in the learner's own namespace, where the
        instructor's `kubelab workshop progress` reads them."""
        from kubernetes import client
        core = client.CoreV1Api(self.api)
        data = {self.chapter: json.dumps({r.description: r.passed for r in self.results})}
        try:
            core.patch_namespaced_config_map("kubelab-progress", self.namespace,
                                             {"data": data})
        except client.ApiException as e:
            if e.status != 404:
                raise
            core.create_namespaced_config_map(self.namespace, client.V1ConfigMap(
                metadata=client.V1ObjectMeta(name="kubelab-progress"), data=data))

    # ------------------------------------------------------------------ namespace
    def _delete_namespaces(self, timeout: float) -> None:
        """Delete the chapter's namespaces (its own, and any made by namespace_for) and
        the cluster-wide objects it labelled as its own (nodes, IngressClasses)."""
        selector = f"{LESSON_LABEL}={self.chapter}"
        self.cluster.kubectl(["delete", "nodes,ingressclasses", "-l", selector,
                              "--ignore-not-found"])
        names = {n["metadata"]["name"] for n in self.list("Namespace", selector=selector,
                                                           namespace=None)}
        if self.get("Namespace", self.namespace, namespace=None):
            names.add(self.namespace)
        if not names:
            return
        self.cluster.kubectl(["delete", "namespace", *sorted(names), "--wait=false",
                              "--ignore-not-found"])
        self.wait_for("Namespace", lambda objs: not [o for o in objs
                                                     if o["metadata"]["name"] in names],
                      namespace=None, timeout=timeout,
                      describe=tr("namespaces {names} to be deleted",
                                  names=", ".join(sorted(names))))

    def _empty_workshop_namespaces(self, timeout: float) -> None:
        """A learner may not delete namespaces: empty them instead, keeping the progress
        record and what the cluster itself manages."""
        kinds = ("deployments,replicasets,statefulsets,daemonsets,jobs,cronjobs,pods,"
                 "services,ingresses,secrets,persistentvolumeclaims,"
                 "horizontalpodautoscalers,poddisruptionbudgets,networkpolicies")
        keep = {"kubelab-progress", "kube-root-ca.crt"}
        for ns in self.workshop_namespaces:
            self.cluster.kubectl(["delete", kinds, "--all", "-n", ns, "--wait=false",
                                  "--ignore-not-found"], timeout=timeout)
            cms = [c["metadata"]["name"] for c in self.list("ConfigMap", namespace=ns)]
            extra = [c for c in cms if c not in keep]
            if extra:
                self.cluster.kubectl(["delete", "configmaps", "-n", ns, *extra,
                                      "--ignore-not-found"])
            self.wait_for("Pod", lambda pods: not pods, namespace=ns, timeout=timeout,
                          describe=tr("the pods in {namespace} to be gone", namespace=ns),
                          stop_on=False)

    def reset_namespace(self, timeout: float = 90) -> None:
        """Start the chapter from a clean namespace: delete what an earlier run left."""
        if self.workshop:
            self._empty_workshop_namespaces(timeout)
            return
        self._delete_namespaces(timeout)
        manifest = {"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": self.namespace,
                                 "labels": {LESSON_LABEL: self.chapter}}}
        self.cluster.kubectl(["apply", "-f", "-"], input=json.dumps(manifest))

    def cleanup(self, timeout: float = 90) -> None:
        """Delete the chapter's namespace and everything in it, and stop background
        commands. Safe to run twice."""
        from .background import stop_all
        stop_all()
        if self.cluster.backend == "minikube" and self.supports("minikube"):
            from .backends import minikube      # a chapter's second profile or extra node
            minikube.tidy(self.cluster, self.say)
        if self.workshop:
            self._empty_workshop_namespaces(timeout)
        else:
            self._delete_namespaces(timeout)
        passed = sum(r.passed for r in self.results)
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


def _condition_true(obj: dict, kind: str) -> bool:
    conds = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == kind and c.get("status") == "True" for c in conds)


def pod_ready(pod: dict) -> bool:
    return _condition_true(pod, "Ready")


def node_ready(node: dict) -> bool:
    return _condition_true(node, "Ready")


_CLUSTER_WIDE = {"nodes", "node", "no", "namespaces", "namespace", "ns", "clusterroles",
                 "clusterrole", "clusterrolebindings", "clusterrolebinding", "pv",
                 "persistentvolumes", "storageclasses", "sc", "ingressclasses",
                 "crd", "customresourcedefinitions", "api-resources", "api-versions",
                 "version", "cluster-info", "config", "explain"}


def _is_cluster_wide(argv: list[str]) -> bool:
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
    return Cluster(backend="workshop", kubeconfig=path, context=context,
                   created_by_kubelab=False, name=context), ns


def open_lab(chapter: str, *, backend: str = "auto", namespace: str = "",
             kubeconfig: str = "", fresh: bool = True, lang: str = "") -> Lab:
    """Connect a notebook to the lab (starting one if none runs) and give the chapter
    its own namespace, emptied of anything an earlier run left behind. With a workshop
    `kubeconfig`, use that login and its namespaces instead: nothing else is touched.
    `lang` ("en", "ko") is the language of kubelab's messages; "" follows KUBELAB_LANG,
    then the locale (kubelab.i18n)."""
    global _CURRENT
    from . import backends
    set_language(lang)
    from .errors import install_notebook_handler
    install_notebook_handler()
    kubeconfig = kubeconfig or os.environ.get("KUBELAB_WORKSHOP_KUBECONFIG", "")
    if kubeconfig:
        cluster, ns = workshop_login(kubeconfig, namespace)
        ok, why = cluster.reachable()
        if not ok:
            raise KubelabError(tr("the workshop cluster does not answer: {why}", why=why),
                               tr("your token may have expired, or the cluster is down: ask "
                                  "your instructor."))
        lab = Lab(cluster=cluster, namespace=ns, chapter=chapter, workshop=True)
        if fresh:
            lab.reset_namespace()
        _CURRENT = lab
        print(tr("chapter {chapter}: workshop login {context}, namespaces {first} and "
                 "{second} (your rights end there)", chapter=chapter,
                 context=cluster.context, first=lab.workshop_namespaces[0],
                 second=lab.workshop_namespaces[1]))
        return lab
    cluster = Cluster.load()
    if cluster is None or not cluster.reachable()[0]:
        cluster = backends.up(backend)
    elif backend not in ("auto", cluster.backend):
        raise KubelabError(tr("this notebook asks for backend {wanted!r}, but the running "
                              "lab is {running!r}.", wanted=backend, running=cluster.backend),
                           tr("run `kubelab down` then `kubelab up --backend {wanted}`, or "
                              "set the notebook's backend parameter to 'auto'.",
                              wanted=backend))
    lab = Lab(cluster=cluster, namespace=namespace or f"lab-{chapter}", chapter=chapter)
    if fresh:
        lab.reset_namespace()
    _CURRENT = lab
    print(tr("chapter {chapter}: backend {backend}, context {context}, namespace "
             "{namespace}", chapter=chapter, backend=cluster.backend,
             context=cluster.context, namespace=lab.namespace))
    return lab
