"""What a chapter runs beside kubectl and the API: a backend's own CLI, live views,
traffic, a local file server, throwaway kubeconfigs, the Gateway API's readiness. Each
is started on demand, so a chapter that needs none of them loads none of them."""
from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr
from kubelab._cluster.cluster import Cluster
from kubelab._session.commands import Commands
from kubelab._session.reads import Reads
from kubelab._session.scope import Scope

if TYPE_CHECKING:          # types only: these modules load when first used
    from kubelab._backends.base import Backend
    from kubelab._session.live import LiveView
    from kubelab._session.scratch import ScratchKubeconfigs
    from kubelab._session.traffic import Traffic
    from kubelab._system.background import FileServer


class Tools:
    """Live views read through the chapter's reads, traffic runs through its commands:
    the parts below the Lab, never the Lab itself."""

    def __init__(self, cluster: Cluster, commands: Commands, scope: Scope,
                 reads: Reads) -> None:
        self.cluster, self.commands, self.scope, self.reads = cluster, commands, scope, reads

    def traffic(self, url: str, seconds: int = 180) -> Traffic:
        """Requests to `url` from a client pod, counted at `.stop()` (containers needed)."""
        from kubelab._session.traffic import Traffic
        return Traffic(self.commands, url, seconds=seconds, wait_for=self.reads.wait_for)

    def live(self, kinds: list[str] | str, selector: str | None = None,
             seconds: float = 20) -> LiveView:
        """A live view of these kinds in the chapter's namespace, for at most `seconds`;
        use it as `with lab.live(...) as view:` around the change you want to watch."""
        from kubelab._session.live import LiveView
        kinds = [k.strip() for k in kinds.split(",")] if isinstance(kinds, str) else kinds
        return LiveView(self.reads, kinds, selector, seconds)

    def rewind_rollout(self, deployment: str, image: str) -> bool:
        """Before a cell rolls `deployment` out to `image`: if a re-run of the cell finds
        it there already (nothing would roll out, and the check after it would have no
        rollout to look at), roll back one revision first and say so, so the rollout
        happens again under the learner's eyes. True when it rolled back."""
        found = self.reads.get("Deployment", deployment)
        containers = ((found or {}).get("spec", {}).get("template", {}).get("spec", {})
                      .get("containers") or [])
        if not found or image not in [c.get("image") for c in containers]:
            return False
        print(tr("(this cell ran before: {deployment} already runs {image}, so setting it "
                 "again would roll nothing out. Rolling back one revision first, so that "
                 "you see the rollout again.)", deployment=deployment,
                 image=image.rsplit("/", 1)[-1]))
        self.commands.kubectl(["rollout", "undo", f"deployment/{deployment}"])
        self.reads.wait_rollout(deployment)
        return True

    def serve(self, directory: str, seconds: float | None = None) -> FileServer:
        """Serve local files on 127.0.0.1, to `kubectl apply -f http://...`: until the
        chapter's cleanup (or `.stop()`), or for `seconds` when given."""
        from kubelab._system.background import FileServer
        return FileServer(directory, seconds)

    def scratch_kubeconfigs(self) -> ScratchKubeconfigs:
        from kubelab._session.scratch import ScratchKubeconfigs
        return ScratchKubeconfigs(self.cluster)

    def tool(self, command: str, *, needs: str, timeout: float = 60) -> str | None:
        """Run a backend's own CLI (minikube, k3s, kind) when this lab is that backend;
        elsewhere show the command and why it did not run. What it prints is shown as it
        comes (`minikube service --url` prints its URL, then keeps running: the URL
        appears at once, and the command is stopped after `timeout` seconds)."""
        print(f"$ {command}")
        from kubelab._session.recordings import tool_key
        if not self.scope.skip_unless(needs, f"`{command}`", recording=tool_key(
                command, self.scope.chapter, self.scope.namespace)):
            return None
        from kubelab._session.progress import command_waiting
        from kubelab._system.run import stream
        backend = self._backend()
        argv, env = backend.tool_argv(shlex.split(command), self.cluster)
        try:
            out, finished = stream(argv, seconds=timeout, what=f"`{command}`", env=env,
                                   waiting=command_waiting)
        except FileNotFoundError:
            raise KubelabError(tr("{program} is not installed.", program=command.split()[0]),
                               tr("install it, or use another backend.")) from None
        if not finished:
            print(tr("(stopped after {seconds:.0f} s)", seconds=timeout))
        else:
            backend.after_tool(argv, self.cluster, self.scope.say)
        return out

    def _backend(self) -> Backend:
        """The hooks of the backend that made this lab (kubelab/_backends/base.py); a
        workshop login gets every hook's default."""
        from kubelab._backends import for_cluster
        return for_cluster(self.cluster)

    def node_stop(self, node: str) -> bool:
        """Stop a worker node the way this backend can, and show the command: minikube
        stops the node's container (`minikube node stop`); the local backend stops that
        node's kubelet, as `systemctl stop kubelet` would on a machine (its containers and
        kube-proxy go on). False, with why, where no node can be stopped."""
        return self._node_power(node, start=False)

    def node_start(self, node: str) -> bool:
        """Start again a node `node_stop` stopped (see there)."""
        return self._node_power(node, start=True)

    def _node_power(self, node: str, start: bool) -> bool:
        backend = self._backend()
        command, needs = backend.node_command(node, start)
        print(f"$ {command}")
        if not self.scope.skip_unless(needs, tr("stopping and starting a node")):
            return False
        (backend.node_start if start else backend.node_stop)(self.cluster, node,
                                                             self.scope.say)
        return True

    def node_containers(self) -> dict[str, str]:
        """The lab's node containers on the Docker engine (minikube's, kind's): name ->
        state ("running", "exited"), as `docker ps -a` shows them; empty elsewhere."""
        return self._backend().node_containers()

    def gateway_api(self) -> bool:
        """Whether this chapter can use the Gateway API here: the cluster serves it (when
        it does not and this login may install CRDs, the pinned standard CRDs are
        installed first; kubelab/gateway.py), and this login may create Gateways and
        HTTPRoutes. Otherwise prints why not (a ⏭ line) and returns False."""
        from kubelab._build import gateway
        if not gateway.installed(self.cluster):
            if not self.scope.skip_unless("cluster-admin", tr("installing the Gateway API "
                                                              "CRDs (cluster-wide objects)")):
                return False
            try:
                gateway.install(self.cluster)
            except KubelabError as e:
                print(tr("⏭ skipped: the Gateway API is not installed here, and kubelab "
                         "could not install it: {problem} ({fix})", problem=e.problem,
                         fix=e.fix))
                return False
        answers = [self.commands.kubectl(["auth", "can-i", "create",
                                          f"{kind}.{gateway.GROUP}"], check=False).split()[:1]
                   for kind in ("gateways", "httproutes")]
        if answers != [["yes"], ["yes"]]:
            print(tr("⏭ skipped: this login may not create Gateways and HTTPRoutes in "
                     "{namespace}.", namespace=self.scope.namespace))
            return False
        return True
