"""A chapter's session with the cluster: the pinned lab context plus the chapter's own
namespace, and what notebooks call (kubectl, apply, read, wait, check, cleanup).

`Lab` is a facade: each call is one of its parts' own (kubectl in commands.py, reads and
waits in reads.py, where the chapter may act in scope.py, checks in grading.py, the rest
in tools.py), so a notebook needs one object and each part stays small."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Concatenate, Generic, ParamSpec, TypeVar

from kubelab._base.errors import KubelabError
from kubelab._base.i18n import LANGUAGES, UnknownLanguage, set_language, tr
from kubelab._cluster.cluster import Cluster, current
from kubelab._session.commands import Commands
from kubelab._session.grading import CheckResult, Grading
from kubelab._session.objects import node_ready, pod_ready
from kubelab._session.reads import Reads
from kubelab._session.namespaces import default_namespace
from kubelab._session.scope import Scope, workshop_login
from kubelab._session.tools import Tools

__all__ = ["CheckResult", "Cluster", "Lab", "current", "current_lab", "node_ready", "open_lab",
           "pod_ready", "workshop_login"]      # node_ready: chapters call kubelab.lab.node_ready

P = ParamSpec("P")
R = TypeVar("R")
_CURRENT: Lab | None = None


def current_lab() -> Lab:
    if _CURRENT is None:
        raise KubelabError(tr("no chapter is open in this notebook."),
                           tr("run the first code cell (`lab = kubelab.open_lab(...)`)."))
    return _CURRENT


class _Part(Generic[P, R]):
    """A Lab method that is one of its parts' own: `lab.check` is `lab.grading.check`,
    with its signature and docstring (what `lab.check?` shows in a notebook)."""

    def __init__(self, part: str, method: Callable[Concatenate[Any, P], R]) -> None:
        self.part, self.method, self.__doc__ = part, method, method.__doc__

    def __get__(self, lab: object, owner: type | None = None) -> Callable[P, R]:
        if lab is None:                 # Lab.check: the part's function, for help()
            return self.method          # type: ignore[return-value]
        return getattr(getattr(lab, self.part), self.method.__name__)


@dataclass
class Lab:
    cluster: Cluster
    namespace: str
    chapter: str
    results: list[CheckResult] = field(default_factory=list)
    workshop: bool = False          # a learner's scoped login to a shared cluster
    _api: Any = field(default=None, repr=False)        # made on first use (tests pass
    _dynamic: Any = field(default=None, repr=False)    # fakes)
    reads: Reads = field(init=False, repr=False, compare=False)
    commands: Commands = field(init=False, repr=False, compare=False)
    scope: Scope = field(init=False, repr=False, compare=False)
    grading: Grading = field(init=False, repr=False, compare=False)
    tools: Tools = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.reads = Reads(self.cluster, self.namespace, api=self._api, dynamic=self._dynamic)
        self.commands = Commands(self.cluster, self.namespace, self.reads)
        self.scope = Scope(self.cluster, self.namespace, self.chapter, self.reads,
                           self.results, learner=self.workshop)
        self.grading = Grading(self.chapter, self.results, self.reads, self.scope, self)
        self.tools = Tools(self.cluster, self.commands, self.scope, self.reads)

    @property
    def api(self) -> Any:  # kubernetes.client.ApiClient
        return self.reads.api

    @property
    def dynamic(self) -> Any:  # kubernetes.dynamic.DynamicClient
        return self.reads.dynamic

    @property
    def workshop_namespaces(self) -> list[str]:
        """A workshop learner's two namespaces (as `kubelab workshop create` names them)."""
        return self.scope.workshop_namespaces

    # kubectl
    kubectl = _Part("commands", Commands.kubectl)
    background = _Part("commands", Commands.background)
    namespace_of = _Part("commands", Commands.namespace_of)
    terminal_line = _Part("commands", Commands.terminal_line)
    apply = _Part("commands", Commands.apply)
    delete = _Part("commands", Commands.delete)
    run_pod = _Part("commands", Commands.run_pod)
    ask = _Part("commands", Commands.ask)
    ask_each = _Part("commands", Commands.ask_each)
    answers = _Part("commands", Commands.answers)
    http_get = _Part("commands", Commands.http_get)
    # reads and waits
    list = _Part("reads", Reads.list)
    get = _Part("reads", Reads.get)
    wait_for = _Part("reads", Reads.wait_for)
    wait_pods = _Part("reads", Reads.wait_pods)
    wait_rollout = _Part("reads", Reads.wait_rollout)
    names = _Part("reads", Reads.names)
    ready_pods = _Part("reads", Reads.ready_pods)
    image_tags = _Part("reads", Reads.image_tags)
    ready_endpoints = _Part("reads", Reads.ready_endpoints)
    wait_endpoints = _Part("reads", Reads.wait_endpoints)
    ingress_controller = _Part("reads", Reads.ingress_controller)
    # checks
    check = _Part("grading", Grading.check)
    exercise = _Part("grading", Grading.exercise)
    # where the chapter may act
    say = _Part("scope", Scope.say)
    namespace_for = _Part("scope", Scope.namespace_for)
    node_port = _Part("scope", Scope.node_port)
    host = _Part("scope", Scope.host)
    supports = _Part("scope", Scope.supports)
    skip_unless = _Part("scope", Scope.skip_unless)
    status = _Part("scope", Scope.status)
    show_status = _Part("scope", Scope.show_status)
    reset_namespace = _Part("scope", Scope.reset_namespace)
    cleanup = _Part("scope", Scope.cleanup)
    _record_progress = _Part("scope", Scope.record_progress)
    # beside kubectl
    traffic = _Part("tools", Tools.traffic)
    live = _Part("tools", Tools.live)
    rewind_rollout = _Part("tools", Tools.rewind_rollout)
    serve = _Part("tools", Tools.serve)
    scratch_kubeconfigs = _Part("tools", Tools.scratch_kubeconfigs)
    tool = _Part("tools", Tools.tool)
    node_containers = _Part("tools", Tools.node_containers)
    node_stop = _Part("tools", Tools.node_stop)
    node_start = _Part("tools", Tools.node_start)
    gateway_api = _Part("tools", Tools.gateway_api)


def open_lab(chapter: str, *, backend: str = "auto", namespace: str = "",
             kubeconfig: str = "", fresh: bool = True, lang: str = "") -> Lab:
    """Connect a notebook to the lab (starting one if none runs) and give the chapter
    its own namespace, emptied of anything an earlier run left behind. With a workshop
    `kubeconfig`, use that login and its namespaces instead: nothing else is touched.
    `lang` ("en", "ko") is the language of kubelab's messages; "" follows KUBELAB_LANG,
    then the locale (kubelab._base.i18n)."""
    global _CURRENT
    from kubelab import _backends as backends
    try:
        set_language(lang)
    except UnknownLanguage:
        raise KubelabError(f"unknown language {lang!r}.",
                           f"set the notebook's lang parameter to one of: "
                           f"{', '.join(LANGUAGES)} (or leave it empty).") from None
    from kubelab._base.errors import install_notebook_handler
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
    lab = Lab(cluster=cluster, namespace=namespace or default_namespace(chapter), chapter=chapter)
    if fresh:
        lab.reset_namespace()
    _CURRENT = lab
    print(tr("chapter {chapter}: backend {backend}, context {context}, namespace "
             "{namespace}", chapter=chapter, backend=cluster.backend,
             context=cluster.context, namespace=lab.namespace))
    return lab
