"""The exact command lines each backend runs, auto-selection, and kwokctl's own dry run
of the sandbox (every component on loopback, distinct service and pod ranges)."""
from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from kubelab import _backends as backends
from kubelab._backends import kind, minikube, sandbox
from kubelab._base import versions
from kubelab._base.errors import BackendUnavailable, KubelabError
from kubelab._build import binaries
from kubelab._system import engine
from kubelab._system.paths import lab_kubeconfig


def test_kind_create_and_delete_command_lines(isolated_home, monkeypatch):
    monkeypatch.setattr(kind, "kind_binary", lambda: "kind")
    assert kind.create_argv(nodes=3, image=versions.KIND_NODE_IMAGE) == [
        "kind", "create", "cluster", "--name", "kubelab", "--image", versions.KIND_NODE_IMAGE,
        "--config", str(isolated_home / "kind-config.yaml"),
        "--kubeconfig", str(isolated_home / "kubeconfig"), "--wait", "0s"]
    assert kind.delete_argv() == ["kind", "delete", "cluster", "--name", "kubelab",
                                  "--kubeconfig", str(isolated_home / "kubeconfig")]


def test_kind_config_is_ingress_ready_with_port_mappings():
    cfg = kind.config(nodes=3)
    assert cfg["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    roles = [n["role"] for n in cfg["nodes"]]
    assert roles == ["control-plane", "worker", "worker"]
    cp = cfg["nodes"][0]
    assert cp["labels"] == {"ingress-ready": "true"}
    mapped = {(m["containerPort"], m["hostPort"]) for m in cp["extraPortMappings"]}
    assert {(80, 8080), (443, 8443)} <= mapped
    assert all(m["listenAddress"] == "127.0.0.1" for m in cp["extraPortMappings"])
    # Kubernetes 1.35+ kubelets refuse cgroup v1 unless told otherwise
    assert any("failCgroupV1: false" in p for p in cfg["kubeadmConfigPatches"])
    assert "networking" not in cfg          # kind's own CNI with its own image


def test_kind_config_for_the_image_built_here_pins_etcd_and_routes_pods_itself():
    cfg = kind.config(nodes=2, built=True)
    assert cfg["networking"] == {"disableDefaultCNI": True}
    etcd = [yaml.safe_load(p) for p in cfg["kubeadmConfigPatches"]
            if "ClusterConfiguration" in p][0]
    assert etcd["etcd"]["local"]["imageTag"] == versions.ETCD_IMAGE_TAG
    assert versions.KIND_NODE_IMAGES["etcd"].endswith(":" + versions.ETCD_IMAGE_TAG)
    assert kind.uses_built_image(kind.nodeimage.image_tag())
    assert not kind.uses_built_image(versions.KIND_NODE_IMAGE)


def test_kind_refuses_a_cluster_it_did_not_create(isolated_home, monkeypatch):
    monkeypatch.setattr(kind, "kind_binary", lambda: "kind")
    monkeypatch.setattr(engine, "answers", lambda: (True, "20.10.24"))
    monkeypatch.setattr(kind, "existing_clusters", lambda: ["kubelab"])
    with pytest.raises(KubelabError) as e:
        kind.preflight()
    assert "did not create" in e.value.problem and "kind delete cluster" in e.value.fix


def test_kind_names_a_taken_port(isolated_home, monkeypatch):
    import socket
    monkeypatch.setattr(kind, "kind_binary", lambda: "kind")
    monkeypatch.setattr(engine, "answers", lambda: (True, "20.10.24"))
    monkeypatch.setattr(kind, "existing_clusters", lambda: [])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        monkeypatch.setattr(kind, "PORT_MAPPINGS", [(80, port)])
        with pytest.raises(KubelabError) as e:
            kind.preflight()
    assert f"port {port}" in e.value.problem and "ss -ltnp" in e.value.fix


def test_kind_without_an_engine_says_how_to_start_one(isolated_home, monkeypatch):
    monkeypatch.setattr(kind, "kind_binary", lambda: "kind")
    monkeypatch.setattr(engine, "answers", lambda: (False, "no Docker engine is running"))
    with pytest.raises(KubelabError) as e:
        kind.preflight()
    assert "Docker engine" in e.value.problem and "kubelab engine start" in e.value.fix


def test_kind_refuses_an_old_docker(isolated_home, monkeypatch):
    monkeypatch.setattr(kind, "kind_binary", lambda: "kind")
    monkeypatch.setattr(engine, "answers", lambda: (True, "19.03.15"))
    with pytest.raises(KubelabError) as e:
        kind.preflight()
    assert "too old" in e.value.problem


def test_kind_node_image_is_pinned_by_digest():
    assert "@sha256:" in versions.KIND_NODE_IMAGE and ":latest" not in versions.KIND_NODE_IMAGE


def test_minikube_command_lines_and_private_home(isolated_home, monkeypatch):
    monkeypatch.setattr(minikube, "minikube_binary", lambda: "minikube")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert minikube.start_argv(nodes=2, built=False) == [
        "minikube", "start", "-p", "kubelab", "--driver=docker",
        "--container-runtime=containerd", f"--kubernetes-version={versions.KUBERNETES}",
        "--nodes=2", "--cpus=2", "--memory=2g", "--interactive=false",
        "--extra-config=kubelet.cgroup-root=/kubelet"]
    built = minikube.start_argv(nodes=2, built=True)
    assert f"--base-image={minikube.kicbase.image_tag()}" in built
    assert {"--preload=false", "--cache-images=false", "--cni=false", "--force"} <= set(built)
    assert not any(a.startswith("--ports") for a in built)     # one node's ports only
    assert minikube.delete_argv() == ["minikube", "delete", "-p", "kubelab"]
    env = minikube.env()
    assert env["KUBECONFIG"] == str(isolated_home / "kubeconfig")
    assert env["MINIKUBE_HOME"] == str(isolated_home / "minikube")   # never ~/.minikube


@pytest.mark.parametrize("command, problem", [
    ("minikube start --driver=virtualbox", "Docker driver, not 'virtualbox'"),
    ("minikube delete --all", "would delete every profile"),
    ("minikube delete --purge -p x", "would delete every profile"),
    ("minikube delete -p theirs", "was not created by kubelab"),
    ("minikube stop -p theirs", "was not created by kubelab"),
])
def test_minikube_commands_that_would_touch_what_kubelab_did_not_make(
        isolated_home, monkeypatch, command, problem):
    monkeypatch.setattr(minikube, "minikube_binary", lambda: "minikube")
    monkeypatch.setattr(minikube, "profiles", lambda: ["kubelab", "theirs"])
    minikube._own("kubelab")
    with pytest.raises(KubelabError) as e:
        minikube.command_argv(command.split())
    assert problem in e.value.problem and e.value.fix


def test_minikube_start_of_a_second_profile_gets_the_offline_flags(isolated_home, monkeypatch):
    monkeypatch.setattr(minikube, "minikube_binary", lambda: "minikube")
    monkeypatch.setattr(minikube, "built_image_available", lambda: True)
    argv, added = minikube.command_argv("minikube start -p second --nodes=1 --memory=3g".split())
    assert argv[:5] == ["minikube", "start", "-p", "second", "--nodes=1"]
    assert "--cni=false" in added and f"--base-image={minikube.kicbase.image_tag()}" in added
    assert "--memory=2g" not in added                   # the learner's own flag wins
    assert not any(a.startswith("--nodes") for a in added)


def test_minikube_refuses_a_profile_it_did_not_create(isolated_home, monkeypatch):
    monkeypatch.setattr(minikube, "node_containers", lambda: {})
    monkeypatch.setattr(minikube, "minikube_binary", lambda: "minikube")
    monkeypatch.setattr(engine, "answers", lambda: (True, "20.10.24"))
    monkeypatch.setattr(minikube, "profiles", lambda: ["kubelab"])
    with pytest.raises(BackendUnavailable) as e:
        minikube.preflight()
    assert "kubelab did not create it" in e.value.problem and "MINIKUBE_HOME" in e.value.fix


def test_minikube_leaves_another_homes_profile_of_the_same_name_alone(isolated_home,
                                                                      monkeypatch):
    monkeypatch.setattr(minikube, "minikube_binary", lambda: "minikube")
    monkeypatch.setattr(engine, "answers", lambda: (True, "20.10.24"))
    monkeypatch.setattr(minikube, "profiles", lambda: [])
    monkeypatch.setattr(minikube, "node_containers",
                        lambda: {"kubelab": "running", "kubelab-m02": "exited"})
    with pytest.raises(BackendUnavailable) as e:
        minikube.preflight()
    assert "kubelab, kubelab-m02" in e.value.problem and "minikube delete" in e.value.fix


def test_minikube_says_how_to_build_its_image_where_it_cannot_pull(isolated_home, monkeypatch):
    monkeypatch.setattr(minikube, "node_containers", lambda: {})
    monkeypatch.setattr(minikube, "minikube_binary", lambda: "minikube")
    monkeypatch.setattr(engine, "answers", lambda: (True, "20.10.24"))
    monkeypatch.setattr(minikube, "profiles", lambda: [])
    monkeypatch.setattr(minikube, "built_image_available", lambda: False)
    monkeypatch.setattr(minikube, "_can_pull", lambda: False)
    with pytest.raises(BackendUnavailable) as e:
        minikube.preflight()
    assert "kubelab build --minikube" in e.value.fix


def test_minikube_needs_a_docker_engine(isolated_home, monkeypatch):
    monkeypatch.setattr(minikube, "minikube_binary", lambda: "minikube")
    monkeypatch.setattr(engine, "answers", lambda: (False, "no Docker engine answers"))
    with pytest.raises(BackendUnavailable) as e:
        minikube.preflight()
    assert "kubelab engine start" in e.value.fix


def test_auto_selection_explains_its_choice(monkeypatch):
    monkeypatch.setattr(kind, "available", lambda: (False, "kind is not installed"))
    monkeypatch.setattr(minikube, "available", lambda: (True, "Docker engine 28"))
    assert backends.choose("auto") == ("minikube", "kind: kind is not installed; "
                                                   "minikube: Docker engine 28")
    monkeypatch.setattr(minikube, "available", lambda: (False, "no Docker engine"))
    name, why = backends.choose("auto")
    assert name == "sandbox" and "no Docker engine" in why


def test_auto_selection_never_picks_a_cluster_kubelab_did_not_create():
    assert "k3s" not in backends.AUTO_ORDER and "existing" not in backends.AUTO_ORDER


def test_unknown_backend_names_the_choices():
    with pytest.raises(KubelabError) as e:
        backends.choose("kubeadm")
    assert "sandbox" in e.value.fix and "kind" in e.value.fix


def test_sandbox_dry_run_is_loopback_only_with_distinct_ranges(isolated_home):
    argv = sandbox.create_argv(binaries.find_all(), lab_kubeconfig()) + ["--dry-run"]
    proc = subprocess.run(argv, env=sandbox.kwokctl_env(), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    commands = [line for line in proc.stdout.splitlines()
                if line.startswith("cd ") and " && " in line]
    # "cd DIR && [NAME=VALUE ...] PROGRAM ARGS": the environment a component gets
    started = {next(w for w in line.split(" && ")[1].split() if "=" not in w)
               for line in commands}
    assert {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
            "kwok-controller"} <= started
    apiserver = next(c for c in commands if " kube-apiserver " in c)
    assert f"GOMEMLIMIT={sandbox.APISERVER_MEMORY_LIMIT} kube-apiserver " in apiserver
    assert not [c for c in commands if "GOMEMLIMIT" in c and c != apiserver]
    assert "--bind-address=127.0.0.1" in apiserver
    assert f"--service-cluster-ip-range={sandbox.SERVICE_CIDR}" in apiserver
    assert "RBAC" in apiserver
    assert "0.0.0.0" not in proc.stdout
    # nothing ran: a dry run leaves no cluster behind
    assert not (isolated_home / "kwok" / "clusters" / "kubelab" / "pids").exists() or \
        not list((isolated_home / "kwok" / "clusters" / "kubelab" / "pids").iterdir())


def test_sandbox_nodes_get_their_own_pod_ranges():
    n1, n2 = sandbox.node_manifest(1), sandbox.node_manifest(2)
    assert n1["spec"]["podCIDR"] != n2["spec"]["podCIDR"]
    assert n1["spec"]["podCIDR"].startswith(sandbox.POD_CIDR_PREFIX)
    assert not sandbox.SERVICE_CIDR.startswith(sandbox.POD_CIDR_PREFIX)


def test_an_interrupted_node_image_build_starts_its_stage_again(tmp_path, monkeypatch):
    """A build killed half-way leaves only its temporary directory; the finished tarball
    appears by rename alone, so the next build sees no stage as done and clears the rest."""
    monkeypatch.setenv("KUBELAB_CACHE", str(tmp_path))
    from kubelab._build import nodeimage
    half = tmp_path / "kind" / ".node-abc123"
    (half / "rootfs" / "usr").mkdir(parents=True)
    other = tmp_path / "kind" / ".keep-me"
    other.mkdir()
    assert not nodeimage.node_tarball().exists() and not nodeimage.base_tarball().exists()
    assert nodeimage.clear_interrupted(lambda m: None) == 1
    assert not half.exists() and other.exists()


def test_kind_output_is_passed_through_as_it_comes_and_failures_name_the_fix(monkeypatch):
    """kind prints its steps while it works; a learner sees them then, not at the end."""
    import time as clock
    seen: list[tuple[float, str]] = []
    start = clock.monotonic()
    kind._run(["sh", "-c", "echo ' • Preparing nodes'; sleep 1; echo ' ✓ Preparing nodes'"],
              "kind create cluster", lambda m: seen.append((clock.monotonic() - start, m)),
              timeout=30)
    steps = [t for t, m in seen if m.startswith("  ") and "Preparing nodes" in m]
    assert len(steps) == 2 and steps[0] < 0.9 <= steps[1], seen   # the first came early
    with pytest.raises(KubelabError) as e:
        kind._run(["sh", "-c", "echo 'ERROR: failed to pull image \"kindest/node\"'; exit 1"],
                  "kind create cluster", lambda m: None, timeout=30)
    assert "exit 1" in e.value.problem and "kubelab build --kind" in e.value.fix
    with pytest.raises(KubelabError, match="did not finish in 1 s"):
        kind._run(["sleep", "5"], "kind create cluster", lambda m: None, timeout=1)


# ---------------------------------------------------------------- the Backend hooks

@pytest.mark.parametrize("name, made", [("kind", 3), ("minikube", 2), ("sandbox", 2),
                                        ("local", 1), ("k3s", None)])
def test_up_gives_each_backend_its_own_node_count(isolated_home, monkeypatch, name, made):
    """`kubelab up --backend kind` and `open_lab(backend="kind")` both make 3 nodes: the
    count not asked for is the backend's `default_nodes`, decided in one place."""
    seen = []
    monkeypatch.setattr(backends.BACKENDS[name], "up", lambda options: seen.append(options))
    backends.up(name, log=lambda m: None)
    backends.up(name, log=lambda m: None, nodes=1)
    assert [o.nodes for o in seen] == [made, 1]
    assert backends.BACKENDS[name].default_nodes == made


def test_docker_node_backends_share_a_toolkit_not_each_other():
    """kind and minikube use docker_nodes and the add-ons; neither imports the other, nor
    local, nor the sandbox (and the shared parts import no backend)."""
    import ast
    from pathlib import Path
    root = Path(backends.__file__).parent
    for part in ("kind", "minikube", "docker_nodes", "addons"):
        for path in (root / part).rglob("*.py"):
            names = set()
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module:
                    names |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
                elif isinstance(node, ast.Import):
                    names |= {a.name for a in node.names}
            others = {"kind", "minikube", "local", "sandbox", "k3s", "existing"} - {part}
            bad = [n for n in names for o in others if n == f"kubelab._backends.{o}"
                   or n.startswith(f"kubelab._backends.{o}.")]
            assert not bad, f"{path.relative_to(root)} imports {bad}"


def test_tool_argv_runs_a_backends_own_cli_with_its_environment(isolated_home, monkeypatch):
    monkeypatch.setattr(minikube, "minikube_binary", lambda: "/opt/minikube/minikube")
    monkeypatch.setattr(minikube, "profiles", lambda: ["kubelab"])
    monkeypatch.setattr(engine, "docker_env", lambda: {"DOCKER_HOST": "unix:///x.sock"})
    cluster = backends.Cluster(backend="minikube", kubeconfig="k", context="kubelab",
                               created_by_kubelab=True)
    mk = backends.BACKENDS["minikube"]
    argv, env = mk.tool_argv(["minikube", "ip", "-p", "kubelab"], cluster)
    assert argv == ["/opt/minikube/minikube", "ip", "-p", "kubelab"]
    assert env["MINIKUBE_HOME"] == str(isolated_home / "minikube")
    with pytest.raises(KubelabError, match="every profile"):
        mk.tool_argv(["minikube", "delete", "--all"], cluster)
    # docker talks to kubelab's engine on every backend; anything else runs as it is
    workshop = backends.for_cluster(backends.Cluster(backend="workshop", kubeconfig="k",
                                                     created_by_kubelab=False,
                                                     context="c"))
    assert workshop.tool_argv(["k3s", "kubectl"], cluster) == (["k3s", "kubectl"], None)
    argv, env = backends.BACKENDS["kind"].tool_argv(["docker", "ps"], cluster)
    assert argv == ["docker", "ps"] and env["DOCKER_HOST"] == "unix:///x.sock"


def test_node_power_is_a_hook_with_a_safe_default():
    assert backends.BACKENDS["minikube"].node_command("kubelab-m02", start=False) == (
        "minikube node stop kubelab-m02 -p kubelab", "minikube")
    command, needs = backends.BACKENDS["local"].node_command("kubelab-node-2", start=True)
    assert command.startswith("systemctl start kubelet") and needs == "node-join"
    with pytest.raises(KubelabError) as e:
        backends.BACKENDS["sandbox"].node_stop(None, "kubelab-node-1", print)
    assert "cannot stop a node" in e.value.problem
    assert "minikube" in e.value.fix and "local" in e.value.fix


def test_down_without_a_lab_asks_every_backend_to_clean_an_interrupted_up(
        isolated_home, monkeypatch):
    from kubelab._backends import local
    said, removed = [], []
    monkeypatch.setattr(local, "node_state", lambda: {"pids": {"kubelet": 1}})
    monkeypatch.setattr(local, "down", lambda cluster: removed.append(cluster))
    backends.down(log=said.append)
    assert removed == [None] and said == ["removed what an interrupted local node had left"]
    monkeypatch.setattr(local, "node_state", lambda: {})
    said.clear()
    backends.down(log=said.append)
    assert said == ["no lab cluster is recorded; nothing to stop"]


def test_port_free_is_one_function_in_the_system_layer():
    import socket

    from kubelab._system.net import port_free
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert not port_free(port)
    assert sandbox.port_free is port_free and kind.port_free is port_free


def test_wait_nodes_watches_until_enough_are_ready(monkeypatch):
    """The one wait for nodes: a list, then a watch of the Node objects (no sleep loop),
    logging each change of the count."""
    from types import SimpleNamespace

    from kubernetes import client, watch

    from kubelab._cluster import readiness

    def node(name, ready):
        return {"metadata": {"name": name}, "status": {"conditions": [
            {"type": "Ready", "status": "True" if ready else "False"}]}}

    class Core:
        def __init__(self, api):
            self.api_client = SimpleNamespace(sanitize_for_serialization=lambda o: o.raw)

        def list_node(self, **kw):
            return SimpleNamespace(items=[SimpleNamespace(metadata=SimpleNamespace(
                name="a"), raw=node("a", True))], metadata=SimpleNamespace(
                resource_version="7"))

    class Watch:
        def stream(self, func, **kw):
            assert kw["resource_version"] == "7"
            yield {"type": "ADDED", "raw_object": node("b", False)}
            yield {"type": "MODIFIED", "raw_object": node("b", True)}
            raise AssertionError("read past the event that made the count")

        def stop(self):
            pass

    monkeypatch.setattr(client, "CoreV1Api", Core)
    monkeypatch.setattr(watch, "Watch", Watch)
    cluster = SimpleNamespace(api_client=lambda: None)
    lines = []
    assert readiness.wait_nodes(cluster, 2, lines.append, seconds=5) == ["a", "b"]
    assert lines == ["nodes Ready: 1 of 2", "nodes Ready: 2 of 2"]
