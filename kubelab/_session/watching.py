"""Wait for the cluster to reach a state: list once, then follow the watch API until a
predicate holds or the time is up. No sleep loops, and never longer than asked."""
from __future__ import annotations

import time
from typing import Callable

from kubelab._base.errors import (
    ApiError,
    ClusterUnreachable,
    KubelabError,
    PredicateError,
    WaitTimeout,
)
from kubelab._base.i18n import tr

Objects = list[dict]


def resource_for(dynamic, kind: str):  # noqa: ANN001
    """The API resource for a kind as kubectl accepts it: Pod, pods, po, deploy, ..."""
    want = kind.lower()
    for attempt in range(2):
        if attempt:       # a CRD installed since the client last looked (the Gateway API)
            dynamic.resources.invalidate_cache()
        for res in dynamic.resources.search():
            names = {res.kind.lower(), (res.name or "").lower(),
                     (res.singular_name or "").lower(),
                     *[s.lower() for s in (res.short_names or [])]}
            if want in names and "/" not in (res.name or ""):
                # prefer the preferred version of core/apps over others
                if getattr(res, "preferred", True):
                    return res
    raise KubelabError(tr("the cluster has no resource type {kind!r}.", kind=kind),
                       tr("check the spelling; `kubectl api-resources` lists them all."))


def api_error(e: Exception, what: str) -> ApiError:
    """An API refusal as one sentence: Forbidden says which right is missing."""
    status = getattr(e, "status", None)
    body = getattr(e, "body", "") or ""
    try:
        import json
        message = json.loads(body).get("message", "")
    except (ValueError, TypeError):
        message = str(e).splitlines()[0]
    if status == 403:
        return ApiError(tr("{what}: forbidden: {message}", what=what, message=message),
                        tr("your account lacks this right on this cluster (in a "
                           "workshop, your rights end at your own namespaces)."), status)
    return ApiError(f"{what}: {status or ''} {message}".strip(),
                    tr("run `kubelab status` to see whether the cluster answers."), status)


def _connection_errors() -> tuple[type[BaseException], ...]:
    """What a dropped, refused or timed-out connection to the apiserver raises."""
    import http.client

    import urllib3
    return (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)


def unreachable(e: BaseException, what: str) -> ClusterUnreachable:
    return ClusterUnreachable(tr("{what}: the cluster did not answer: {error}", what=what,
                                 error=str(e).splitlines()[0] if str(e) else type(e).__name__),
                              tr("run `kubelab status` to see whether the cluster answers."))


def holds(until: Callable[[Objects], object], objects: Objects, what: str) -> bool:
    """Ask a wait's condition. A condition that raises is a bug in it: say so now, with
    its error and line, instead of waiting out the time as if it were only False."""
    try:
        return bool(until(objects))
    except KubelabError:
        raise
    except Exception as e:          # any error in the caller's function is reported
        import traceback
        frames = traceback.extract_tb(e.__traceback__)
        line = (frames[-1].line or "").strip() if frames else ""
        raise PredicateError(
            tr("the condition for {what} raised {error}", what=what,
               error=f"{type(e).__name__}: {e}") + (f"\n  at: {line}" if line else ""),
            tr("fix that function: it must return True or False for the objects it is "
               "given (a list of dicts, possibly empty), e.g. use .get() for fields that "
               "may be missing.")) from e


def get_one(resource, name: str, namespace: str | None) -> dict | None:  # noqa: ANN001
    """GET one object by name (needs only the `get` right); None when it does not exist."""
    from kubernetes.client.exceptions import ApiException
    kwargs = {"name": name}
    if resource.namespaced and namespace:
        kwargs["namespace"] = namespace
    try:
        return resource.get(**kwargs).to_dict()
    except ApiException as e:
        if e.status == 404:
            return None
        raise api_error(e, tr("reading {kind} {name}", kind=resource.kind, name=name)) from None


def _scope(resource, namespace: str | None, name: str | None,  # noqa: ANN001
           selector: str | None) -> dict:
    """The arguments that narrow a list or a watch to what the caller follows."""
    kwargs: dict = {}
    if name:
        kwargs["field_selector"] = f"metadata.name={name}"
    if selector:
        kwargs["label_selector"] = selector
    if resource.namespaced and namespace:
        kwargs["namespace"] = namespace
    return kwargs


def snapshot(resource, namespace: str | None, name: str | None = None,  # noqa: ANN001
             selector: str | None = None) -> tuple[dict[str, dict], str]:
    kwargs = _scope(resource, namespace, name, selector)
    from kubernetes.client.exceptions import ApiException
    try:
        listed = resource.get(**kwargs).to_dict()
    except ApiException as e:
        raise api_error(e, tr("listing {kind}", kind=resource.kind)) from None
    except _connection_errors() as e:
        raise unreachable(e, tr("listing {kind}", kind=resource.kind)) from None
    objs = {_key(o): o for o in listed.get("items") or []}
    return objs, listed["metadata"].get("resourceVersion", "")


def _key(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name')}"


TICK = 2   # seconds: a watch is renewed at least this often, so a wait can report


def wait_for(dynamic, kind: str, until: Callable[[Objects], bool], *,  # noqa: ANN001
             namespace: str | None = None, name: str | None = None,
             selector: str | None = None, timeout: float = 60,
             describe: str = "", progress: bool = True, stop_on: bool = True) -> Objects:
    """Follow the objects of `kind` (one by name, or all matching `selector`) until
    `until(objects)` is true. Returns those objects; raises WaitTimeout after `timeout`
    seconds.

    A wait longer than a moment shows what it waits for and what the cluster just did
    (the namespace's Events about these objects; kubelab/progress.py), and with
    `stop_on` it stops early, with the reason, when the cluster says it cannot succeed
    (an image that cannot be pulled, a crash loop, a quota refusal). A condition that
    raises is reported at once (PredicateError); only API and connection errors renew
    the watch."""
    from kubernetes.client.exceptions import ApiException

    from kubelab._session.progress import EventSource, Waiting, object_state, roots_of
    resource = resource_for(dynamic, kind)
    what = describe or f"{kind} {name or selector or ''}".strip()
    deadline = time.monotonic() + timeout
    objs, version = snapshot(resource, namespace, name, selector)
    if holds(until, list(objs.values()), what):
        return list(objs.values())
    events = EventSource(dynamic, namespace) if namespace else None
    waiting = Waiting(what, timeout, events=events, show=progress, stop_on=stop_on)
    is_pod = resource.kind == "Pod"

    def tick() -> None:
        current = list(objs.values())
        waiting.tick(state=object_state(resource.kind, current),
                     pods=current if is_pod else (),
                     roots=roots_of(resource.kind, name, selector, current))
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            tick()
            kwargs = {**_scope(resource, namespace, name, selector),
                      "resource_version": version,
                      "timeout": max(1, int(min(remaining, TICK)))}
            try:
                for event in resource.watch(**kwargs):
                    obj = event["raw_object"]
                    version = (obj.get("metadata") or {}).get("resourceVersion", version)
                    if event["type"] == "DELETED":
                        objs.pop(_key(obj), None)
                    elif event["type"] in ("ADDED", "MODIFIED"):
                        objs[_key(obj)] = obj
                    elif event["type"] == "ERROR":   # e.g. 410 Gone: start again from a list
                        objs, version = snapshot(resource, namespace, name, selector)
                    if holds(until, list(objs.values()), what):
                        waiting.finish(True)
                        return list(objs.values())
                    if time.monotonic() >= deadline:
                        break
                    tick()
            except (ApiException, *_connection_errors()):
                # a dropped or expired watch (410 Gone) resumes from a fresh list
                objs, version = snapshot(resource, namespace, name, selector)
            # asked again at least every TICK s: a condition may look beyond these objects
            if holds(until, list(objs.values()), what):
                waiting.finish(True)
                return list(objs.values())
    except KubelabError:
        waiting.finish(False)
        raise
    waiting.finish(False)
    seen = waiting.timeout_detail()
    raise WaitTimeout(tr("timed out after {seconds:.0f} s waiting for {what}.",
                         seconds=timeout, what=what)
                      + (tr("\n  last seen: {detail}", detail=seen) if seen else ""),
                      tr("look at `kubectl get events` and `kubectl describe` for the "
                         "reason; then run the cell again."))
