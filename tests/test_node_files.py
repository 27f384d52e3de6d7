"""What the local node writes before anything runs: images, configuration files, add-on
manifests, kwokctl's arguments. No root and no cluster needed."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import tomllib
from pathlib import Path

import pytest
import yaml

from kubelab._backends import addons, sandbox
from kubelab._backends.local import config, host
from kubelab._base import versions
from kubelab._build import binaries, images


def _members(archive: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_an_oci_archive_is_well_formed_and_named_as_users_pull_it(tmp_path):
    program = tmp_path / "prog"
    program.write_bytes(b"\x7fELF pretend")
    program.chmod(0o755)
    image = images.Image("registry.k8s.io/pause:3.10.2", {"/pause": program},
                         entrypoint=["/pause"], links={"/bin/sh": "/pause"})
    files = _members(images.oci_archive(image))
    index = json.loads(files["index.json"])
    entry = index["manifests"][0]
    assert entry["annotations"]["io.containerd.image.name"] == "registry.k8s.io/pause:3.10.2"
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "3.10.2"
    blobs = {f"sha256:{n.rsplit('/', 1)[1]}": d for n, d in files.items()
             if n.startswith("blobs/")}
    for digest, data in blobs.items():                   # every blob is content-addressed
        assert digest == "sha256:" + hashlib.sha256(data).hexdigest()
    manifest = json.loads(blobs[entry["digest"]])
    cfg = json.loads(blobs[manifest["config"]["digest"]])
    layer = gzip.decompress(blobs[manifest["layers"][0]["digest"]])
    assert cfg["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(layer).hexdigest()]
    assert cfg["config"]["Entrypoint"] == ["/pause"]
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        pause = tar.getmember("pause")
        assert pause.mode == 0o755 and pause.uid == 0 and pause.mtime == 0
        assert tar.getmember("bin/sh").issym()


def test_the_same_inputs_give_the_same_image(tmp_path):
    program = tmp_path / "prog"
    program.write_bytes(b"same bytes")
    image = images.Image("docker.io/library/busybox:1.35.0-glibc", {"/bin/busybox": program})
    assert images.oci_archive(image) == images.oci_archive(image)


def test_containerd_config_keeps_everything_under_the_lab_and_fits_this_machine(tmp_path):
    text = config.containerd_toml(tmp_path / "root", Path("/run/kubelab-x"), tmp_path / "cni",
                                  tmp_path / "net.d", "/usr/sbin/runc")
    cfg = tomllib.loads(text)
    assert cfg["version"] == 3
    assert cfg["grpc"]["address"] == "/run/kubelab-x/containerd.sock"
    runtime = cfg["plugins"]["io.containerd.cri.v1.runtime"]
    assert runtime["restrict_oom_score_adj"] is True      # no CAP_SYS_RESOURCE here
    runc = runtime["containerd"]["runtimes"]["runc"]["options"]
    assert runc["Root"] == "/run/kubelab-x/runc" and runc["SystemdCgroup"] is False
    pinned = cfg["plugins"]["io.containerd.cri.v1.images"]["pinned_images"]["sandbox"]
    assert pinned == versions.NODE_IMAGES["pause"]


def test_kubelet_and_kube_proxy_configs(tmp_path):
    kubelet = json.loads(config.kubelet_yaml(Path("/run/kubelab-x"), tmp_path / "ca.crt",
                                             tmp_path / "logs", tmp_path / "resolv.conf"))
    assert kubelet["failCgroupV1"] is False and kubelet["cgroupDriver"] == "cgroupfs"
    assert kubelet["address"] == host.NODE_IP and kubelet["readOnlyPort"] == 0
    assert kubelet["authentication"]["anonymous"]["enabled"] is False
    assert kubelet["authorization"]["mode"] == "Webhook"
    assert kubelet["clusterDNS"] == [config.CLUSTER_DNS]
    proxy = json.loads(config.kube_proxy_yaml(tmp_path / "kubeconfig"))
    assert proxy["mode"] == "iptables" and proxy["clusterCIDR"] == host.CLUSTER_CIDR
    assert proxy["nodePortAddresses"] == [f"{host.NODE_IP}/32"]


def test_cni_config_uses_the_lab_bridge_and_range(tmp_path):
    conf = json.loads(config.cni_conflist(tmp_path))
    bridge = conf["plugins"][0]
    assert bridge["bridge"] == host.BRIDGE
    assert bridge["ipam"]["ranges"][0][0]["subnet"] == host.POD_CIDR
    assert [p["type"] for p in conf["plugins"]] == ["bridge", "portmap"]


def test_addon_manifests_are_filled_and_pinned():
    for name in ("coredns", "metallb", "metallb-pool"):
        docs = [d for d in yaml.safe_load_all(addons.manifest(name)) if d]
        assert docs, name
        for doc in docs:
            for c in (doc.get("spec", {}).get("template", {}).get("spec", {})
                      .get("containers", [])):
                assert c["image"] in versions.NODE_IMAGES.values(), c["image"]
    pool = yaml.safe_load(addons.manifest("metallb-pool"))
    assert pool["spec"]["addresses"] == ["-".join(host.LB_RANGE)]
    dns = [d for d in yaml.safe_load_all(addons.manifest("coredns")) if d and
           d["kind"] == "Service"][0]
    assert dns["spec"]["clusterIP"] == config.CLUSTER_DNS


def test_every_image_the_chapters_use_is_built_for_the_node():
    import shutil
    if not shutil.which("busybox"):
        pytest.skip("busybox (Debian busybox-static) is not installed here")
    built = {i.name for i in backends_local_images()}
    assert set(versions.IMAGES.values()) <= built
    assert set(versions.NODE_IMAGES.values()) <= built


def backends_local_images() -> list[images.Image]:
    """The images `up` would build, from stand-in programs (their contents do not matter
    here, only their names)."""
    import shutil
    fake = Path(shutil.which("true") or "/bin/true")
    progs = {n: fake for _, (_, names) in binaries.NODE_GROUPS.items() for n in names}
    return images.workbook_images(progs)


def test_kwokctl_extra_args_put_each_components_first_arg_first():
    argv = sandbox.extra_args_argv(("kube-apiserver=a=1", "kube-apiserver=b=2",
                                    "kube-controller-manager=c=3", "kube-apiserver=d=4"))
    values = argv[1::2]
    assert values == ["kube-apiserver=a=1", "kube-controller-manager=c=3",
                      "kube-apiserver=b=2", "kube-apiserver=d=4"]
    assert argv[0::2] == ["--extra-args"] * 4


def test_iptables_save_parsing_and_rule_count(monkeypatch):
    saved = ("*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n"
             "-A PREROUTING -j KUBE-SERVICES\n-A KUBE-SERVICES -d 10.96.0.1/32 -j X\n"
             "COMMIT\n*filter\n:INPUT ACCEPT [12:34]\n-A INPUT -j KUBELAB-GUARD\nCOMMIT\n")

    class Done:
        stdout = saved
    monkeypatch.setattr(host.shutil, "which", lambda b: "/sbin/" + b)
    monkeypatch.setattr(host, "run", lambda cmd, check=True, **kw: Done())
    rules = host.iptables_rules()
    assert rules["nat"] == [":PREROUTING ACCEPT", ":KUBE-SERVICES -",
                            "-A PREROUTING -j KUBE-SERVICES",
                            "-A KUBE-SERVICES -d 10.96.0.1/32 -j X"]
    assert host.rule_count() == 2 * 3            # iptables and ip6tables alike here


def test_the_traffic_tally_counts_lines():
    from kubelab._session.traffic import tally
    t = tally("ok web-1\nok web-2\nfail\nok web-1\ndone\n")
    assert (t.served, t.failed, dict(t.responders)) == (3, 1, {"web-1": 2, "web-2": 1})
    assert str(t) == "3 served, 1 failed, answered by 2 pods"


def test_nodes_2_and_3_get_their_own_address_cgroup_root_and_pod_range(tmp_path):
    """A second kubelet under the first one's cgroup root would remove its pods' cgroups
    as orphans; a second node's pods reach the others by routes, unmasqueraded."""
    kubelet = json.loads(config.kubelet_yaml(Path("/run/kubelab-x/node-2"), tmp_path / "ca",
                                             tmp_path / "logs", tmp_path / "resolv",
                                             address=host.node_ip(2),
                                             cgroup_root="/kubelab-node-2"))
    assert kubelet["address"] == "10.240.0.3" and kubelet["cgroupRoot"] == "/kubelab-node-2"
    assert "cgroupRoot" not in json.loads(config.kubelet_yaml(
        Path("/run/x"), tmp_path / "ca", tmp_path / "logs", tmp_path / "resolv"))
    proxy = json.loads(config.kube_proxy_yaml(tmp_path / "kc", name="kubelab-node-3",
                                              address=host.node_ip(3)))
    assert proxy["hostnameOverride"] == "kubelab-node-3"
    assert proxy["nodePortAddresses"] == ["10.240.0.4/32"]
    bridge = json.loads(config.cni_conflist(tmp_path, "10.244.1.0/24", "10.244.1.1",
                                            masquerade=False))["plugins"][0]
    assert bridge["ipMasq"] is False
    assert bridge["ipam"]["ranges"][0][0] == {"subnet": "10.244.1.0/24",
                                              "gateway": "10.244.1.1"}
    assert host.in_netns("kubelab-node-2")[:2] == ["nsenter",
                                                   "--net=/run/netns/kubelab-node-2"]


def test_the_join_token_and_its_rights_are_kubeadms(tmp_path):
    from kubelab._backends.local import join
    token_id, secret = join.new_token()
    assert len(token_id) == 6 and len(secret) == 16 and (token_id + secret).isalnum()
    items = json.loads(join.manifests(token_id, secret))["items"]
    token = items[0]
    assert token["type"] == "bootstrap.kubernetes.io/token"
    assert token["metadata"] == {"name": f"bootstrap-token-{token_id}",
                                 "namespace": "kube-system"}
    assert token["stringData"]["auth-extra-groups"] == join.GROUP
    roles = {b["roleRef"]["name"]: b["subjects"][0]["name"] for b in items[1:]}
    assert roles == {
        "system:node-bootstrapper": join.GROUP,
        "system:certificates.k8s.io:certificatesigningrequests:nodeclient": join.GROUP,
        "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient":
            "system:nodes"}
    kc = json.loads(config.kubeconfig("https://10.240.0.2:6443", tmp_path / "ca.crt", None,
                                      None, "kubelet-bootstrap",
                                      token=f"{token_id}.{secret}"))
    assert kc["users"][0]["user"] == {"token": f"{token_id}.{secret}"}
    args = join.control_plane_args(tmp_path)
    assert "kube-apiserver=enable-bootstrap-token-auth=true" in args
    assert "kube-controller-manager=controllers=*,bootstrapsigner,tokencleaner" in args


def test_a_node_count_the_backend_cannot_make_is_refused_with_the_fix():
    from kubelab import _backends as backends
    from kubelab._backends.local import workers
    from kubelab._base.errors import KubelabError
    assert workers.check_count(None) == 1 and workers.check_count(3) == 3
    with pytest.raises(KubelabError) as e:
        workers.check_count(4)
    assert "1 to 3 nodes, not 4" in e.value.problem and "--nodes 1, 2 or 3" in e.value.fix
    with pytest.raises(KubelabError) as e:
        backends.check_nodes("local", 4)
    assert "at most 3 nodes" in e.value.problem
    with pytest.raises(KubelabError) as e:
        backends.check_nodes("k3s", 2)
    assert "does not make nodes" in e.value.problem and "local" in e.value.fix
    with pytest.raises(KubelabError) as e:
        backends.check_nodes("local", 4)
    assert "local" not in e.value.fix.split(":", 1)[1] and "sandbox" in e.value.fix
    backends.check_nodes("sandbox", 5)
    backends.check_nodes("k3s", None)
