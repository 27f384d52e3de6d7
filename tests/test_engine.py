"""The Docker engine kubelab starts, and the runtime wrapper for hosts whose root lacks
CAP_SYS_RESOURCE: its spec rewriting is tested on real OCI files, its use on a real
dockerd by the kind tests (tests/test_kind.py)."""
from __future__ import annotations

import json
import resource
import runpy
import subprocess
import sys

from kubelab._system import engine

WRAPPER = runpy.run_path(str(engine.RUNTIME), run_name="kubelab_runc")
CAPS = ["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_SYS_RESOURCE", "CAP_NET_ADMIN"]


def spec() -> dict:
    return {"ociVersion": "1.0.2", "process": {
        "args": ["/sbin/init"],
        "capabilities": {k: list(CAPS) for k in
                         ("bounding", "effective", "inheritable", "permitted", "ambient")},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1048576, "soft": 1048576},
                    {"type": "RLIMIT_NPROC", "hard": 99, "soft": 99}]}}


def test_the_wrapper_drops_only_cap_sys_resource_and_fits_nofile(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(spec()))
    WRAPPER["fit"](str(path))
    process = json.loads(path.read_text())["process"]
    for caps in process["capabilities"].values():
        assert caps == ["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_NET_ADMIN"]
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nofile = next(r for r in process["rlimits"] if r["type"] == "RLIMIT_NOFILE")
    assert nofile["hard"] == min(1048576, hard) and nofile["soft"] <= nofile["hard"]
    assert {"type": "RLIMIT_NPROC", "hard": 99, "soft": 99} in process["rlimits"]


def test_the_wrapper_fits_an_exec_process_file(tmp_path):
    path = tmp_path / "process.json"
    path.write_text(json.dumps(spec()["process"]))
    WRAPPER["fit"](str(path))
    assert "CAP_SYS_RESOURCE" not in json.loads(path.read_text())["capabilities"]["bounding"]


def test_the_wrapper_finds_bundle_and_process_options():
    option = WRAPPER["option"]
    args = ["--root", "/r", "create", "--bundle", "/b", "--pid-file", "/p", "id"]
    assert option(args, "--bundle", "-b") == "/b"
    assert option(["exec", "--process=/x.json", "id"], "--process", "-p") == "/x.json"
    assert option(["start", "id"], "--bundle", "-b") is None


def test_the_wrapper_hands_everything_to_runc(tmp_path):
    """With a stand-in runc that prints its arguments: the spec is rewritten first, then
    runc gets exactly the arguments dockerd gave."""
    (tmp_path / "config.json").write_text(json.dumps(spec()))
    fake = tmp_path / "runc"
    fake.write_text("#!/bin/sh\necho \"$@\"\n")
    fake.chmod(0o755)
    out = subprocess.run([sys.executable, str(engine.RUNTIME), "--log", "x", "create",
                          "--bundle", str(tmp_path), "cid"], capture_output=True, text=True,
                         env={"KUBELAB_RUNC": str(fake), "PATH": "/usr/bin:/bin"}, check=True)
    assert out.stdout.split() == ["--log", "x", "create", "--bundle", str(tmp_path), "cid"]
    caps = json.loads((tmp_path / "config.json").read_text())["process"]["capabilities"]
    assert "CAP_SYS_RESOURCE" not in caps["bounding"]


def test_the_wrapper_is_needed_only_where_root_lacks_cap_sys_resource():
    full = "CapBnd:\t000001ffffffffff\n"
    lacking = "CapBnd:\t000001fffeffffff\n"      # bit 24 cleared
    assert not engine.needs_runtime_wrapper(full)
    assert engine.needs_runtime_wrapper(lacking)


def test_dockerd_stays_off_the_hosts_firewall_and_uses_the_wrapper_only_if_needed(tmp_path):
    argv = engine.dockerd_argv(tmp_path, wrapper=False)
    assert "--iptables=false" in argv and "--ip-masq=false" in argv
    assert f"unix://{tmp_path / 'docker.sock'}" in argv
    assert not any("kubelab-runc" in a for a in argv)
    argv = engine.dockerd_argv(tmp_path, wrapper=True)
    assert argv[argv.index("--default-runtime") + 1] == "kubelab-runc"
    assert f"kubelab-runc={engine.RUNTIME}" in argv


def test_docker_env_prefers_the_users_docker_host(monkeypatch):
    monkeypatch.setattr(engine, "running", lambda: True)
    assert engine.docker_env({"DOCKER_HOST": "tcp://x"})["DOCKER_HOST"] == "tcp://x"
    assert engine.docker_env({})["DOCKER_HOST"] == engine.host_value()
    monkeypatch.setattr(engine, "running", lambda: False)
    assert "DOCKER_HOST" not in engine.docker_env({})
