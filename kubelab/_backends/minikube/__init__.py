"""minikube with the Docker driver and the containerd runtime; kubelab's profile is `kubelab`.

minikube runs with its own home, MINIKUBE_HOME under kubelab's state directory, so a
learner's own `~/.minikube` profiles are never listed, changed or deleted by kubelab. The
chapters call minikube through `command()`, which sets that home, the Docker engine and
the lab's kubeconfig.

Offline (`kubelab build --minikube`): minikube v1.38.1 built from its Go module, its node
image built here (kicbase.py) and its cache filled with kubeadm, kubelet and kubectl of
the pinned Kubernetes, so `minikube start` downloads nothing. With that image there is no
default CNI (minikube's kindnet image cannot be built here), so kubelab wires pod routes
the way it does for kind (docker_nodes/network.py), and again after `minikube node add`.

The chapters reach minikube only through this module's Backend hooks: `tool_argv` and
`after_tool` (a learner's `minikube ...` in `lab.tool`), `node_stop`/`node_start`
(`minikube node stop|start`), `node_containers` and `after_chapter` (tidy).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from kubelab._backends.base import Backend, Options, register
from kubelab._backends.docker_nodes import addons, network
from kubelab._backends.docker_nodes import nodes as docker_nodes
from kubelab._base import versions
from kubelab._base.errors import BackendUnavailable, KubelabError
from kubelab._base.i18n import N_, tr
from kubelab._build import binaries, kicbase
from kubelab._cluster.cluster import Cluster
from kubelab._system.engine import docker_env, require
from kubelab._system.paths import lab_kubeconfig, state_dir
from kubelab._system.run import run_logged, stream
from kubelab._system.run import run as run_captured

PROFILE = "kubelab"
POD_CIDR = "10.244.0.0/16"     # minikube's own default
OWNER_FILE = "minikube-owner.json"
Log = Callable[[str], None]


def home() -> Path:
    """MINIKUBE_HOME: minikube keeps profiles, keys and its cache in `<home>/.minikube`."""
    return state_dir() / "minikube"


def minikube_binary() -> str:
    """The minikube `kubelab build --minikube` built, else one on PATH."""
    try:
        return str(binaries.node_group("minikube", build=False) / "minikube")
    except KubelabError:
        found = shutil.which("minikube")
        if found:
            return found
        raise BackendUnavailable(tr("minikube is not installed."),
                                 tr("install minikube {version}, or run `kubelab build "
                                    "--minikube` (Linux, root).",
                                    version=versions.MINIKUBE)) from None


def env() -> dict[str, str]:
    """minikube's environment: kubelab's MINIKUBE_HOME, Docker engine and kubeconfig."""
    out = {**os.environ, **docker_env(), "MINIKUBE_HOME": str(home()),
           "KUBECONFIG": str(lab_kubeconfig()), "MINIKUBE_IN_STYLE": "false",
           "MINIKUBE_WANTUPDATENOTIFICATION": "false"}
    # this minikube, and a kubectl of the server's minor version, first on PATH
    first = [str(Path(minikube_binary()).parent)]
    try:
        first.append(str(binaries.kubectl().parent))
    except KubelabError:
        pass
    out["PATH"] = os.pathsep.join([*first, out.get("PATH", "")])
    return out


def built_image_available() -> bool:
    return kicbase.tarball().is_file()


def start_argv(nodes: int = 2, profile: str = PROFILE, built: bool | None = None
               ) -> list[str]:
    """No `--ports`: minikube maps them on every node's container, so a second node's
    fails (port already allocated). On Linux the nodes' addresses answer from this
    machine, and LoadBalancer addresses are routed to the control plane (as for kind)."""
    built = built_image_available() if built is None else built
    argv = [minikube_binary(), "start", "-p", profile, "--driver=docker",
            "--container-runtime=containerd", f"--kubernetes-version={versions.KUBERNETES}",
            f"--nodes={nodes}", "--cpus=2", "--memory=2g", "--interactive=false",
            # the kubelet's cgroups under /kubelet on cgroup v1, as in the kind nodes
            "--extra-config=kubelet.cgroup-root=/kubelet"]
    if built:
        # no CNI: kubelab routes pods, from the ranges the controller-manager gives each
        # node (minikube asks for them only when it installs a CNI itself)
        argv += [f"--base-image={kicbase.image_tag()}", "--preload=false",
                 "--cache-images=false", "--cni=false",
                 f"--extra-config=kubeadm.pod-network-cidr={POD_CIDR}"]
    if built or os.geteuid() == 0:
        # minikube refuses the Docker driver as root, and containerd without its CNI,
        # unless forced; kubelab's own engine runs as root, and kubelab wires the pods.
        argv.append("--force")
    return argv


def delete_argv(profile: str = PROFILE) -> list[str]:
    return [minikube_binary(), "delete", "-p", profile]


def available() -> tuple[bool, str]:
    return docker_nodes.available(minikube_binary)


def profiles() -> list[str]:
    """Profiles in kubelab's MINIKUBE_HOME."""
    proc = run_captured([minikube_binary(), "profile", "list", "-o", "json"], 60, env=env())
    try:
        data = json.loads(proc.stdout or "{}")
    except ValueError:
        return []
    return [p["Name"] for key in ("valid", "invalid") for p in data.get(key) or []]


def _owned_profiles() -> set[str]:
    """The profiles kubelab's `up` or a chapter's `minikube start` created."""
    try:
        return set(json.loads((state_dir() / OWNER_FILE).read_text()).get("profiles", []))
    except (OSError, ValueError):
        return set()


def _owned(profile: str = PROFILE) -> bool:
    return profile in _owned_profiles()


def _own(profile: str, add: bool = True) -> None:
    owned = _owned_profiles()
    owned = owned | {profile} if add else owned - {profile}
    (state_dir() / OWNER_FILE).write_text(json.dumps({"profiles": sorted(owned)}))


def fill_cache(log: Log) -> Path:
    """kubeadm, kubelet and kubectl of the pinned Kubernetes where minikube looks before
    it downloads: `<MINIKUBE_HOME>/.minikube/cache/linux/amd64/<version>/`."""
    arch = binaries.platform_key().split("/")[1]
    where = home() / ".minikube" / "cache" / "linux" / arch / versions.KUBERNETES
    where.mkdir(parents=True, exist_ok=True)
    sources = {"kubeadm": binaries.node_group("kubernetes-kind", build=False) / "kubeadm",
               "kubectl": binaries.node_group("kubernetes-kind", build=False) / "kubectl",
               "kubelet": binaries.node_group("kubernetes-node", build=False) / "kubelet"}
    for name, source in sources.items():
        target = where / name
        if not target.is_file() or target.stat().st_size != source.stat().st_size:
            shutil.copy2(source, target)
            target.chmod(0o755)
    log(tr("minikube's cache holds kubeadm, kubelet and kubectl {version}",
           version=versions.KUBERNETES))
    return where


def preflight(profile: str = PROFILE) -> None:
    """Each problem as one message with its fix, before anything is created."""
    minikube_binary()
    require("minikube")
    if profile in profiles() and not _owned(profile):
        raise BackendUnavailable(
            tr("a minikube profile {profile!r} exists in {home}, and kubelab did not "
               "create it.", profile=profile, home=home()),
            tr("kubelab leaves it alone: delete it yourself (`MINIKUBE_HOME={home} "
               "minikube delete -p {profile}`) if it is yours to delete.", home=home(),
               profile=profile))
    theirs = [n for n in node_containers() if n == profile or n.startswith(f"{profile}-m")]
    if theirs and not _owned(profile):
        # another MINIKUBE_HOME's profile of the same name: minikube would take its
        # containers for abandoned ones of this profile and delete them
        raise BackendUnavailable(
            tr("Docker containers named {names} exist: a minikube profile {profile!r} that "
               "kubelab did not create (another MINIKUBE_HOME).",
               names=", ".join(sorted(theirs)), profile=profile),
            tr("kubelab leaves them alone: delete that profile with the minikube that made "
               "it (`minikube delete -p {profile}`) if it is yours to delete.",
               profile=profile))
    if not built_image_available() and os.environ.get("KUBELAB_MINIKUBE_PULL") != "1" \
            and not _can_pull():
        raise BackendUnavailable(
            tr("minikube's node image is not built here, and this machine cannot pull it."),
            tr("run `kubelab build --minikube` (Linux, root; about 2 min once the node "
               "programs are built), then `kubelab up --backend minikube` again."))


def _can_pull() -> bool:
    """Whether minikube could fetch its own kicbase (a registry answers)."""
    import urllib.request
    try:
        urllib.request.urlopen("https://gcr.io/v2/", timeout=5)
        return True
    except OSError as e:
        return getattr(e, "code", None) in (401, 403)    # answered, wants a token


def run(argv: list[str], what: str, log: Log, timeout: float) -> str:
    """Run minikube, passing its lines through as they come, bounded by `timeout`."""
    return run_logged(argv, timeout, what=what, log=log, env=env(), fix=lambda _: tr(
        "read minikube's output above; `MINIKUBE_HOME={home} minikube logs -p {profile}` "
        "says more.", home=home(), profile=PROFILE))


# Where no registry answers, a pull does not fail: it hangs on name lookups until the
# kubelet gives up minutes later, and a pod being deleted waits for it (`minikube addons
# disable` with it). On such a machine kubelab points every node's containerd at a closed
# local port, so a pull of an image the node does not have fails at once (ErrImagePull,
# "connection refused"), and says so.
OFFLINE_HOSTS_TOML = 'server = "http://127.0.0.1:9"\n'


def offline_registry(nodes: list[str], log: Log) -> None:
    for node in nodes:
        subprocess.run(["docker", "exec", "-i", node, "sh", "-c",
                        "mkdir -p /etc/containerd/certs.d/_default && cat > "
                        "/etc/containerd/certs.d/_default/hosts.toml"],
                       input=OFFLINE_HOSTS_TOML, text=True, capture_output=True,
                       env=docker_env(), timeout=60)
    log(tr("no registry answers here: pulls on {nodes} fail at once instead of hanging",
           nodes=", ".join(nodes)))


def prepare_nodes(cluster: Cluster, log: Log) -> None:
    """Pod routes between the nodes (the image built here has no CNI of its own), and on
    a machine that cannot pull, pulls that fail at once."""
    if cluster.details.get("wired_network"):
        network.wire(cluster, log)
    if cluster.details.get("offline"):
        offline_registry(sorted(network.node_addresses(cluster)), log)


def up(nodes: int, log: Log = print, **_: object) -> Cluster:
    preflight()
    built = built_image_available()
    if built:
        kicbase.ensure_image(log)
        fill_cache(log)
    start = time.monotonic()
    _own(PROFILE)
    cluster = Cluster(backend="minikube", kubeconfig=str(lab_kubeconfig()), context=PROFILE,
                      created_by_kubelab=True, name=PROFILE,
                      details={"nodes": nodes, "wired_network": built,
                               "offline": built and not _can_pull(),
                               "image": kicbase.image_tag() if built else "minikube's own",
                               "minikube_home": str(home())})
    try:
        run(start_argv(nodes, built=built), "minikube start", log, timeout=900)
        lab_kubeconfig().chmod(0o600)
        # the profile a bare `minikube kubectl`, `minikube ip`, ... use (kubelab's home)
        run_captured([minikube_binary(), "profile", PROFILE], 60, env=env())
        cluster.save()
        prepare_nodes(cluster, log)
        docker_nodes.wait_ready(cluster, nodes, log, what=N_("the minikube nodes"))
        cluster.kubectl(["label", "node", PROFILE, "ingress-ready=true", "--overwrite"])
        cluster.details.update(addons.install(
            cluster, log, network_name=PROFILE, control_plane=PROFILE, load=None))
        cluster.details["up_seconds"] = round(time.monotonic() - start, 1)
        cluster.save()
        log(tr("minikube cluster ready in {seconds} s",
               seconds=cluster.details["up_seconds"]))
        return cluster
    except BaseException:
        log(tr("the minikube cluster did not come up; deleting what was created"))
        down(cluster, log=lambda m: None)
        raise


def down(cluster: Cluster, log: Log = print) -> None:
    if not _owned(cluster.name or PROFILE):
        log(tr("minikube profile {profile!r} was not created by kubelab: left as it is",
               profile=cluster.name))
        return
    network.unroute(cluster, PROFILE)
    for profile in sorted(_owned_profiles()):
        run(delete_argv(profile), f"minikube delete -p {profile}", log, timeout=300)
        _remove_network(profile, log)
        _own(profile, add=False)


def _remove_network(profile: str, log: Log) -> None:
    """minikube removes a profile's Docker network as it deletes each node, which fails
    while another node still uses it; the last try can be the failing one (seen with 2
    nodes). Remove it when minikube made it for this profile and nothing uses it."""
    docker_nodes.remove_network(profile, log, label="name.minikube.sigs.k8s.io",
                                who=tr("minikube had left"))



# ---------------------------------------------------------------- the chapters' commands

def _profile_of(argv: list[str]) -> str:
    for i, a in enumerate(argv):
        if a in ("-p", "--profile") and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(("--profile=", "-p=")):
            return a.split("=", 1)[1]
    return "minikube"          # minikube's own default profile name


def _has(argv: list[str], flag: str) -> bool:
    return any(a == flag or a.startswith(flag + "=") for a in argv)


def command_argv(argv: list[str]) -> tuple[list[str], list[str]]:
    """A learner's `minikube ...` as kubelab runs it: this minikube, and for `start` the
    flags that let it work where nothing can be pulled (returned too, to be shown).
    Refuses what would touch a profile kubelab did not create, or another driver."""
    args = argv[1:]
    verb = next((a for a in args if not a.startswith("-")), "")
    profile = _profile_of(args)
    driver = next((a.split("=", 1)[1] for a in args if a.startswith("--driver=")
                   or a.startswith("--vm-driver=")), "docker")
    if driver != "docker":
        raise KubelabError(
            tr("kubelab's minikube runs with the Docker driver, not {driver!r}.",
               driver=driver),
            tr("use --driver=docker (or leave --driver out); {driver} needs its own "
               "hypervisor or runtime on this machine, which kubelab does not manage.",
               driver=driver))
    if verb == "delete" and (_has(args, "--all") or _has(args, "--purge")):
        raise KubelabError(tr("`minikube delete --all` (or --purge) would delete every "
                              "profile, including ones kubelab did not create."),
                           tr("name the profile: `minikube delete -p NAME`."))
    if verb in ("delete", "stop") and profile in profiles() and not _owned(profile):
        raise KubelabError(tr("the minikube profile {profile!r} was not created by kubelab.",
                              profile=profile),
                           tr("kubelab leaves it alone; run minikube yourself if it is "
                              "yours."))
    added: list[str] = []
    if verb == "start" and built_image_available():
        given = set(args)
        defaults = start_argv(nodes=1, profile=profile)[5:]
        for flag in defaults:
            name = flag.split("=", 1)[0]
            if name == "--nodes" or any(g.split("=", 1)[0] == name for g in given):
                continue
            added.append(flag)
    return [minikube_binary(), *args, *added], added


def after_command(argv: list[str], cluster: Cluster | None, log: Log) -> None:
    """What kubelab does after a learner's minikube command: it owns the profiles its
    `start` created, and wires pod routes on nodes it started (image built here)."""
    args = argv[1:]
    verb = next((a for a in args if not a.startswith("-")), "")
    profile = _profile_of(args)
    if verb == "start":
        _own(profile)
    elif verb == "delete":
        _own(profile, add=False)
    if not built_image_available() or verb not in ("start", "node"):
        return
    if verb == "node" and "add" not in args and "start" not in args:
        return
    target = cluster if cluster and profile == (cluster.name or PROFILE) else Cluster(
        backend="minikube", kubeconfig=str(lab_kubeconfig()), context=profile,
        created_by_kubelab=True, name=profile,
        details={"wired_network": True,
                 "offline": bool(cluster and cluster.details.get("offline"))})
    prepare_nodes(target, log)


def node_containers() -> dict[str, str]:
    """Node containers minikube made on this Docker engine: name -> state."""
    return docker_nodes.containers("created_by.minikube.sigs.k8s.io=true")


def tidy(cluster: Cluster, log: Log) -> None:
    """After a chapter: delete the profiles it started (kubelab's own stays) and the nodes
    it added beyond the ones `up` made."""
    for profile in sorted(_owned_profiles() - {cluster.name or PROFILE}):
        if profile in node_containers() or profile in profiles():
            run([minikube_binary(), "delete", "-p", profile],
                f"minikube delete -p {profile}", log, timeout=300)
        _own(profile, add=False)
    if cluster.kubectl(["get", "namespace", "headlamp"], check=False).returncode == 0:
        run([minikube_binary(), "addons", "disable", "headlamp", "-p", PROFILE],
            "minikube addons disable headlamp", log, timeout=180)
    made = int(cluster.details.get("nodes") or 1)
    extra = [n for n in node_containers() if n.startswith(f"{PROFILE}-m")
             and int(n.rsplit("-m", 1)[1] or 0) > made]
    for node in sorted(extra):
        run([minikube_binary(), "node", "delete", node, "-p", PROFILE],
            f"minikube node delete {node}", log, timeout=300)


def node_power(cluster: Cluster, node: str, start: bool, log: Log) -> None:
    """`minikube node stop|start NODE -p kubelab`, its output shown as it comes."""
    verb = "start" if start else "stop"
    seconds = 300 if start else 180
    argv = [minikube_binary(), "node", verb, node, "-p", PROFILE]
    _, finished = stream(argv, seconds=seconds, what=f"`minikube node {verb} {node} -p "
                         f"{PROFILE}`", env=env())
    if not finished:
        print(tr("(stopped after {seconds:.0f} s)", seconds=seconds))
    else:
        after_command(argv, cluster, log)


class Minikube(Backend):
    name = "minikube"
    auto_rank = 2
    summary = "minikube: Docker driver, containerd, profile kubelab (2 nodes by default)"
    # on Linux the minikube network is this machine's own bridge: node addresses answer
    features = frozenset({"containers", "minikube", "cluster-admin", "node-join"}
                         | ({"host-network"} if sys.platform == "linux" else set()))
    fix = N_("install Docker and minikube (or `kubelab build --minikube`); on Linux as root "
             "without Docker: apt-get install docker.io, then `kubelab engine start`")
    default_nodes = 2

    def available(self) -> tuple[bool, str]:
        return available()

    def up(self, options: Options) -> Cluster:
        return up(nodes=options.nodes, log=options.log)

    def down(self, cluster: Cluster, log: Log) -> None:
        down(cluster, log=log)

    def tool_argv(self, argv: list[str], cluster: Cluster) -> tuple[list[str], dict[str, str] | None]:
        if argv[:1] != ["minikube"]:
            return super().tool_argv(argv, cluster)
        argv, added = command_argv(argv)
        if added:
            print(tr("(kubelab adds, because this machine cannot pull minikube's images: "
                     "{flags})", flags=" ".join(added)))
        return argv, env()

    def after_tool(self, argv: list[str], cluster: Cluster, log: Log) -> None:
        if argv and Path(argv[0]).name == "minikube":      # as tool_argv made it
            after_command(argv, cluster, log)

    def node_command(self, node: str, start: bool) -> tuple[str, str]:
        return f"minikube node {'start' if start else 'stop'} {node} -p {PROFILE}", "minikube"

    def node_stop(self, cluster: Cluster, node: str, log: Log) -> None:
        node_power(cluster, node, False, log)

    def node_start(self, cluster: Cluster, node: str, log: Log) -> None:
        node_power(cluster, node, True, log)

    def node_containers(self) -> dict[str, str]:
        return node_containers()

    def after_chapter(self, cluster: Cluster, say: Log) -> None:
        """A chapter's second profile, and the nodes it added."""
        tidy(cluster, say)


register(Minikube())
