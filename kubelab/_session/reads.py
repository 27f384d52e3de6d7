"""Reading the cluster and waiting for it, through the API: a chapter's lists, gets and
waits, in its own namespace unless told otherwise."""
from __future__ import annotations

from typing import Any, Callable

from kubelab._base.contract import CONTROLLER_SERVICES
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr
from kubelab._cluster.cluster import Cluster
from kubelab._session import facts, watching
from kubelab._session.objects import leaving, pod_ready


class Reads:
    """The API side of a chapter. The clients are made on first use, so a Lab built
    without a cluster (tests, printing only) never connects."""

    def __init__(self, cluster: Cluster, namespace: str, *, api: Any = None,
                 dynamic: Any = None) -> None:
        self.cluster, self.namespace = cluster, namespace
        self._api, self._dynamic = api, dynamic

    @property
    def api(self) -> Any:  # kubernetes.client.ApiClient
        if self._api is None:
            self._api = self.cluster.api_client()
        return self._api

    @property
    def dynamic(self) -> Any:  # kubernetes.dynamic.DynamicClient
        if self._dynamic is None:
            from kubernetes.dynamic import DynamicClient
            self._dynamic = DynamicClient(self.api)
        return self._dynamic

    def _ns(self, namespace: str | None) -> str | None:
        return namespace if namespace is not None else self.namespace

    def list(self, kind: str, selector: str | None = None,
             namespace: str | None = None) -> list[dict]:
        resource = watching.resource_for(self.dynamic, kind)
        objs, _ = watching.snapshot(resource, self._ns(namespace), selector=selector)
        return sorted(objs.values(), key=lambda o: o["metadata"]["name"])

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict | None:
        resource = watching.resource_for(self.dynamic, kind)
        return watching.get_one(resource, name, self._ns(namespace))

    def wait_for(self, kind: str, until: Callable[[list[dict]], bool], *,
                 name: str | None = None, selector: str | None = None,
                 namespace: str | None = None, timeout: float = 60,
                 describe: str = "", progress: bool = True,
                 stop_on: bool = True) -> list[dict]:
        """Wait until `until(objects)` holds for the objects of `kind` (one by `name`, or
        all matching `selector`). A wait of more than a moment shows what it waits for and
        the cluster's events about it; with `stop_on` it stops early when the cluster says
        it cannot succeed (ImagePullBackOff, a crash loop, a quota refusal)."""
        return watching.wait_for(self.dynamic, kind, until, namespace=self._ns(namespace),
                                 name=name, selector=selector, timeout=timeout,
                                 describe=describe, progress=progress, stop_on=stop_on)

    def wait_pods(self, selector: str, count: int, *, timeout: float = 60,
                  ready: bool = True) -> list[dict]:
        """Wait until exactly `count` pods match `selector` (Ready ones, if `ready`),
        not counting pods on their way out."""
        def done(pods: list[dict]) -> bool:
            live = [p for p in pods if not leaving(p)]
            return len(live) == count and (not ready or all(pod_ready(p) for p in live))
        pods = self.wait_for("Pod", done, selector=selector, timeout=timeout,
                             describe=tr("{count} Ready pods with {selector}", count=count,
                                         selector=selector) if ready else
                             tr("{count} pods with {selector}", count=count, selector=selector),
                             stop_on=count > 0)
        return [p for p in pods if not leaving(p)]

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

    # ------------------------------------------------------------------ what checks ask
    def names(self, kind: str, selector: str | None = None,
              namespace: str | None = None) -> list[str]:
        """The names of the objects of `kind` (matching `selector`), leaving out those on
        their way out."""
        return [o["metadata"]["name"] for o in self.list(kind, selector, namespace)
                if not leaving(o)]

    def ready_pods(self, selector: str, namespace: str | None = None) -> list[dict]:
        """The pods matching `selector` that are Ready now (no waiting)."""
        return [p for p in self.list("Pod", selector, namespace)
                if pod_ready(p) and not leaving(p)]

    def image_tags(self, selector: str, count: int) -> list[str]:
        """Once `count` pods match `selector` and are Ready: their images' tags, sorted
        (['2.59', '2.59', '2.63.0'])."""
        return facts.image_tags(self.wait_pods(selector, count))

    def ready_endpoints(self, service: str) -> list[str]:
        """The addresses a Service sends to now: its EndpointSlices' ready endpoints."""
        return facts.ready_addresses(self.list(
            "EndpointSlice", selector=f"kubernetes.io/service-name={service}"))

    def wait_endpoints(self, service: str, count: int, timeout: float = 30) -> list[str]:
        """Wait until a Service has `count` ready endpoints; return their addresses."""
        self.wait_for("EndpointSlice", lambda _: len(self.ready_endpoints(service)) == count,
                      selector=f"kubernetes.io/service-name={service}", timeout=timeout,
                      describe=tr("{count} ready endpoints behind {service}", count=count,
                                  service=service))
        return self.ready_endpoints(service)

    def ingress_controller(self) -> dict | None:
        """The Service of a Traefik or ingress-nginx controller, if one runs here (in
        kube-system, traefik or ingress-nginx); None when none is found or visible. A
        workshop login cannot list those namespaces: it may read the controller's Service
        by its name (the workshop binds it to that, and nothing else there)."""
        for ns in ("kube-system", "traefik", "ingress-nginx"):
            try:
                services = self.list("Service", namespace=ns)
            except KubelabError:      # a workshop login: by name
                services = []
                for name in CONTROLLER_SERVICES:
                    try:
                        services.append(self.get("Service", name, namespace=ns))
                    except KubelabError:
                        continue
            for s in services:
                if s and (s["metadata"].get("labels") or {}).get(
                        "app.kubernetes.io/name") in ("traefik", "ingress-nginx"):
                    return s
        return None
