"""A Docker engine that kubelab starts itself, for machines that have none running.

kind and minikube need a Docker engine. A laptop has Docker Desktop or a system dockerd,
and kubelab uses it as it is. A Linux machine with root but no engine running (CI, a VM,
a fresh server) can get Debian's `docker.io` and let kubelab start dockerd privately:

- its data, its exec root and its socket live under kubelab's state directory, so it
  never meets a system Docker; `kubelab engine env` prints the DOCKER_HOST to use;
- `--iptables=false`: dockerd otherwise sets the FORWARD policy to DROP and leaves its
  chains behind, which breaks forwarding for anything else on the machine (the local
  backend's bridges among them). kind needs none of it: nodes talk on their bridge, and
  published ports go through docker-proxy on 127.0.0.1;
- on hosts whose root lacks CAP_SYS_RESOURCE (some VMs and CI sandboxes), privileged
  containers fail ("unable to apply caps: operation not permitted"), so dockerd runs them
  through `kubelab-runc`, which drops that one capability and clamps RLIMIT_NOFILE
  before it execs runc. Where root has every capability, runc runs unchanged.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable

import psutil

from kubelab._base.errors import CommandTimeout, KubelabError
from kubelab._base.i18n import tr
from kubelab._system.paths import state_dir
from kubelab._system.run import run

RUNTIME = Path(__file__).with_name("kubelab-runc")
CAP_SYS_RESOURCE = 24
STARTUP_SECONDS = 90


class EngineError(KubelabError):
    """The Docker engine is missing, cannot start, or is not kubelab's to stop."""


def home() -> Path:
    path = state_dir() / "engine"
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def socket() -> Path:
    return home() / "docker.sock"


def host_value() -> str:
    return f"unix://{socket()}"


def needs_runtime_wrapper(status: str | None = None) -> bool:
    """True where this process's bounding set lacks CAP_SYS_RESOURCE."""
    text = status if status is not None else Path("/proc/self/status").read_text()
    for line in text.splitlines():
        if line.startswith("CapBnd:"):
            return not (int(line.split()[1], 16) >> CAP_SYS_RESOURCE) & 1
    return False


def dockerd_argv(root: Path, wrapper: bool) -> list[str]:
    argv = ["dockerd", "--data-root", str(root / "data"), "--exec-root", str(root / "exec"),
            "--pidfile", str(root / "dockerd.pid"), "--host", f"unix://{root / 'docker.sock'}",
            "--iptables=false", "--ip-masq=false", "--ip6tables=false",
            "--userland-proxy=true", "--log-level=warn"]
    if wrapper:
        argv += ["--add-runtime", f"kubelab-runc={RUNTIME}", "--default-runtime",
                 "kubelab-runc"]
    return argv


def _state_file() -> Path:
    return home() / "engine.json"


def _recorded() -> dict | None:
    try:
        return json.loads(_state_file().read_text())
    except (OSError, ValueError):
        return None


def _process(record: dict | None) -> psutil.Process | None:
    """The recorded dockerd if it still runs: same PID *and* same start time, so a reused
    PID is never signalled."""
    if not record:
        return None
    try:
        proc = psutil.Process(record["pid"])
        if abs(proc.create_time() - record["create_time"]) < 1 and proc.is_running():
            return proc
    except (psutil.Error, KeyError):
        pass
    return None


def running() -> bool:
    return _process(_recorded()) is not None


def answers(env: dict[str, str] | None = None, timeout: float = 5) -> tuple[bool, str]:
    """Whether `docker info` gets an answer (the server version, or what went wrong)."""
    if not shutil.which("docker"):
        return False, tr("the docker CLI is not installed")
    try:
        proc = run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout,
                   env=env or docker_env())
    except CommandTimeout:
        return False, tr("the Docker engine did not answer")
    if proc.returncode != 0 or not proc.stdout.strip():
        return False, tr("no Docker engine is running (docker info failed)")
    return True, proc.stdout.strip()


def require(backend: str) -> str:
    """The engine's version, or the one message (with its fix) that a Docker backend
    cannot start without an engine."""
    from kubelab._base.errors import BackendUnavailable
    ok, why = answers()
    if not ok:
        raise BackendUnavailable(tr("the {backend} backend needs a Docker engine: {why}.",
                                    backend=backend, why=why),
                                 tr("start Docker (Docker Desktop, `sudo systemctl start "
                                    "docker`, or as root `kubelab engine start`), or use "
                                    "`kubelab up --backend sandbox`."))
    return why


def docker_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for docker, kind and minikube: the user's DOCKER_HOST if set, else
    kubelab's own engine when it runs, else Docker's default."""
    env = dict(os.environ if base is None else base)
    if not env.get("DOCKER_HOST") and running():
        env["DOCKER_HOST"] = host_value()
    return env


def start(log: Callable[[str], None] = print) -> str:
    """Start dockerd (Linux, root) unless kubelab's engine already runs; returns its
    DOCKER_HOST value."""
    if running():
        return host_value()
    if os.name != "posix" or os.geteuid() != 0:
        raise EngineError(tr("kubelab can start a Docker engine only as root on Linux."),
                          tr("start Docker yourself (Docker Desktop, or `sudo systemctl "
                             "start docker`), or run `sudo kubelab engine start`."))
    for tool, package in (("dockerd", "docker.io"), ("docker", "docker.io"),
                          ("runc", "runc")):
        if not shutil.which(tool):
            raise EngineError(tr("{tool} is not installed.", tool=tool),
                              f"apt-get install {package} (Debian/Ubuntu).")
    root = home()
    wrapper = needs_runtime_wrapper()
    if wrapper:
        RUNTIME.chmod(0o755)
    log(tr("starting dockerd (data under kubelab's state directory{wrapper})",
           wrapper=tr(", privileged containers through kubelab-runc: this host's root "
                      "lacks CAP_SYS_RESOURCE") if wrapper else ""))
    bridges_before = _docker_bridges()
    logfile = open(root / "dockerd.log", "ab")
    proc = subprocess.Popen(dockerd_argv(root, wrapper), stdout=logfile, stderr=logfile,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    record = {"pid": proc.pid, "create_time": psutil.Process(proc.pid).create_time(),
              "lib_modules": Path("/lib/modules").exists(), "wrapper": wrapper,
              "bridges_before": bridges_before}
    _state_file().write_text(json.dumps(record))
    env = dict(os.environ, DOCKER_HOST=host_value())
    deadline, said = time.monotonic() + STARTUP_SECONDS, 0.0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (root / "dockerd.log").read_text(errors="replace").strip()[-600:]
            raise EngineError(tr("dockerd exited at once (code {code}):\n{tail}",
                                 code=proc.returncode, tail=tail),
                              tr("read the log above; another dockerd may hold its files."))
        ok, version = answers(env, timeout=3)
        if ok:
            log(tr("Docker engine {version} answers on {host}", version=version,
                   host=host_value()))
            return host_value()
        if time.monotonic() - said > 5:
            said = time.monotonic()
            log(tr("waiting for dockerd to answer ..."))
        time.sleep(0.5)
    stop(log=lambda m: None)
    raise EngineError(tr("dockerd did not answer within {seconds} s.",
                         seconds=STARTUP_SECONDS),
                      tr("read {path}.", path=root / "dockerd.log"))


def stop(log: Callable[[str], None] = print) -> None:
    """Stop kubelab's dockerd (and the containerd it started), then remove the bridges it
    made (none that existed before it started) and /lib/modules if dockerd created it
    (kind mounts it from the host)."""
    record = _recorded()
    proc = _process(record)
    if proc is None:
        if record:
            _state_file().unlink(missing_ok=True)
        log(tr("kubelab's Docker engine is not running"))
        return
    children = proc.children(recursive=True)
    proc.terminate()
    gone, alive = psutil.wait_procs([proc], timeout=30)
    for p in alive:
        p.kill()
    for child in children:                  # dockerd's containerd and its shims
        try:
            if child.is_running():
                child.terminate()
        except psutil.Error:
            pass
    psutil.wait_procs([c for c in children if c.is_running()], timeout=10)
    for link in set(_docker_bridges()) - set(record.get("bridges_before", [])):
        run(["ip", "link", "delete", link], 10)   # ours only
    modules = Path("/lib/modules")
    if not record.get("lib_modules") and modules.is_dir() and not any(modules.iterdir()):
        modules.rmdir()
    shutil.rmtree(home() / "exec", ignore_errors=True)
    _state_file().unlink(missing_ok=True)
    log(tr("stopped kubelab's Docker engine"))


def _docker_bridges() -> list[str]:
    """docker0 and the br-<id> bridges of user-defined networks."""
    out = run(["ip", "-o", "link", "show", "type", "bridge"], 10).stdout
    names = [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]
    return [n for n in names if n == "docker0" or n.startswith("br-")]
