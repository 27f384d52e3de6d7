"""What a chapter runs beside kubectl and the API: a backend's own CLI, live views,
traffic, a local file server, throwaway kubeconfigs, the Gateway API's readiness. Each
is started on demand, so a chapter that needs none of them loads none of them."""
from __future__ import annotations

import os
import shlex
from typing import TYPE_CHECKING, Any

from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr
from kubelab._cluster.cluster import Cluster
from kubelab._session.commands import Commands
from kubelab._session.scope import Scope

if TYPE_CHECKING:          # types only: these modules load when first used
    from kubelab._session.live import LiveView
    from kubelab._session.scratch import ScratchKubeconfigs
    from kubelab._session.traffic import Traffic
    from kubelab._system.background import FileServer


class Tools:
    """`subject` is the chapter's Lab: live views and traffic act through it."""

    def __init__(self, cluster: Cluster, commands: Commands, scope: Scope,
                 subject: Any) -> None:
        self.cluster, self.commands, self.scope, self.subject = \
            cluster, commands, scope, subject

    def traffic(self, url: str, seconds: int = 180) -> Traffic:
        """Requests to `url` from a client pod, counted at `.stop()` (containers needed)."""
        from kubelab._session.traffic import Traffic
        return Traffic(self.subject, url, seconds=seconds)

    def live(self, kinds: list[str] | str, selector: str | None = None,
             seconds: float = 20) -> LiveView:
        """A live view of these kinds in the chapter's namespace, for at most `seconds`;
        use it as `with lab.live(...) as view:` around the change you want to watch."""
        from kubelab._session.live import LiveView
        kinds = [k.strip() for k in kinds.split(",")] if isinstance(kinds, str) else kinds
        return LiveView(self.subject, kinds, selector, seconds)

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
        from kubelab._system.background import stream
        argv, env = shlex.split(command), None
        is_minikube = argv[0] == "minikube"
        if is_minikube:
            from kubelab._backends import minikube
            argv, added = minikube.command_argv(argv)
            env = minikube.env()
            if added:
                print(tr("(kubelab adds, because this machine cannot pull minikube's images: "
                         "{flags})", flags=" ".join(added)))
        elif argv[0] == "docker":
            from kubelab._system.engine import docker_env
            env = {**os.environ, **docker_env()}
        try:
            out, finished = stream(argv, seconds=timeout, what=f"`{command}`", env=env)
        except FileNotFoundError:
            raise KubelabError(tr("{program} is not installed.", program=command.split()[0]),
                               tr("install it, or use another backend.")) from None
        if not finished:
            print(tr("(stopped after {seconds:.0f} s)", seconds=timeout))
        elif is_minikube:
            minikube.after_command(argv, self.cluster, self.scope.say)
        return out

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
        verb = "start" if start else "stop"
        if self.scope.supports("minikube"):
            return self.tool(f"minikube node {verb} {node} -p kubelab", needs="minikube",
                             timeout=300 if start else 180) is not None
        print(f"$ systemctl {verb} kubelet        # on {node}")
        if not self.scope.skip_unless("node-join", tr("stopping and starting a node")):
            return False
        from kubelab._backends import local
        pid = local.node_kubelet(node, start)
        print(tr("(kubelab started the kubelet process of {node} again: PID {pid})",
                 node=node, pid=pid) if start else
              tr("(kubelab stopped the kubelet process of {node}, PID {pid}; its containers "
                 "and kube-proxy go on)", node=node, pid=pid))
        return True

    def node_containers(self) -> dict[str, str]:
        """minikube's node containers on the Docker engine: name -> state ("running",
        "exited"), as `docker ps -a` shows them."""
        from kubelab._backends import minikube
        return minikube.node_containers()

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
