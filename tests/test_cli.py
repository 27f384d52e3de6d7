"""Bad input gets one clear message naming the fix and a non-zero exit, never a traceback:
exit 1 when something failed, 2 when the command line itself is wrong (kubectl, kind)."""
from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kubelab import cli
from kubelab._base.errors import KubelabError
from kubelab._session import manifests, workbook

ROOT = Path(__file__).resolve().parent.parent


def kubelab(*args: str, env: dict | None = None, cwd: Path | None = None,
            python: tuple[str, ...] = ("-m", "kubelab.cli")) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *python, *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})}, cwd=cwd)


def assert_clean_failure(proc: subprocess.CompletedProcess, *phrases: str,
                         code: int = 1) -> None:
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "fix:" in proc.stderr
    for phrase in phrases:
        assert phrase in proc.stderr, proc.stderr


def assert_usage_error(proc: subprocess.CompletedProcess, *phrases: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    for phrase in phrases:
        assert phrase in proc.stderr, proc.stderr


def test_unknown_backend(isolated_home):
    assert_usage_error(kubelab("up", "--backend", "kubeadm"), "unknown backend 'kubeadm'",
                       "sandbox", "usage: kubelab up")


@pytest.mark.parametrize("argv, phrase", [
    ([], "required: COMMAND"),
    (["workshop"], "required: ACTION"),
    (["workshop", "progress", "--learners", "a"], "unrecognized arguments: --learners"),
    (["workshop", "create"], "one of the arguments --learners --count is required"),
    (["workshop", "create", "--learners", "a", "--count", "2"], "not allowed with"),
    (["bench"], "required: MODE"),
    (["bench", "workshop"], "required: --count"),
    (["bench", "sandbox", "--count", "3"], "unrecognized arguments"),
    (["up", "--nodes", "0"], "at least 1"),
    (["status", "-o", "yaml"], "invalid choice"),
    (["engine", "restart"], "invalid choice"),
])
def test_a_wrong_command_line_exits_2_with_usage(argv, phrase, isolated_home):
    assert_usage_error(kubelab(*argv), phrase, "usage: kubelab")


def test_bad_learner_names_are_a_usage_error(isolated_home):
    proc = kubelab("workshop", "create", "--learners", "Ann Smith")
    assert_clean_failure(proc, "DNS labels", code=2)


def test_every_command_has_help_with_an_example(capsys):
    for command, example in cli.EXAMPLES.items():
        with pytest.raises(SystemExit) as e:
            cli.main([*command.split(), "--help"])
        assert e.value.code == 0
        out = capsys.readouterr().out
        assert f"example:\n  {example}" in out, command
    # and every command argparse knows has an entry (read from each usage line)
    listed = set()
    for group in ("", "engine", "workshop", "bench"):
        with pytest.raises(SystemExit):
            cli.main([*group.split(), "--help"])
        out = capsys.readouterr().out
        body = out.split("positional arguments:", 1)[1].split("options:", 1)[0]
        names = re.findall(r"^    (\S+)", body, re.M)      # wrapped lines sit deeper
        listed |= {f"{group} {n}".strip() for n in names}
    assert listed <= set(cli.EXAMPLES), listed - set(cli.EXAMPLES)


def test_the_parser_uses_no_private_argparse_api():
    for path in (ROOT / "kubelab" / "cli").glob("*.py"):
        source = path.read_text()
        assert "._actions" not in source and "_add_action" not in source, path.name


def test_subcommands_parse_into_their_own_options():
    args = cli.parser().parse_args(["workshop", "create", "--count", "3", "--hours", "2"])
    assert (args.run, args.count, args.learners, args.hours, args.name) == \
        (cli.workshop.cmd_create, 3, None, 2.0, "ws")
    args = cli.parser().parse_args(["bench", "workshop", "--count", "30"])
    assert (args.run, args.learners, args.chapter) == \
        (cli.bench.cmd_workshop, 30, "05a-pods-replicasets")
    args = cli.parser().parse_args(["bench", "node", "--cold"])
    assert (args.run, args.cold) == (cli.bench.cmd_node, True)
    args = cli.parser().parse_args(["open", "--port", "8890", "--api-port", "6443",
                                    "--ip", "0.0.0.0", "--no-browser", "--lang", "ko"])
    assert (args.lab_port, args.port, args.ip, args.no_browser, args.lang) == \
        (8890, 6443, "0.0.0.0", True, "ko")
    assert cli.parser().parse_args(["status", "--json"]).output == "json"
    assert cli.parser().parse_args(["engine", "start"]).action == "start"


def test_port_in_use(isolated_home):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = kubelab("up", "--backend", "sandbox", "--port", str(port))
    assert_clean_failure(proc, f"port {port}", "already in use", "--port")
    assert not (isolated_home / "kwok" / "clusters" / "kubelab").exists()


def test_unknown_context(isolated_home, tmp_path):
    config = tmp_path / "config"
    config.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "clusters": [], "users": [],
        "contexts": [{"name": "work", "context": {"cluster": "c", "user": "u"}}]}))
    proc = kubelab("up", "--backend", "existing", "--context", "nope", "--kubeconfig",
                   str(config))
    assert_clean_failure(proc, "'nope' is not in", "work")


def test_existing_backend_needs_a_named_context(isolated_home):
    assert_clean_failure(kubelab("up", "--backend", "existing"), "needs the context")


def record_dead_lab(home: Path, tmp_path: Path) -> None:
    """A lab recorded earlier whose apiserver is gone (machine rebooted, say)."""
    with socket.socket() as s:          # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    config = tmp_path / "kubeconfig"
    config.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": f"https://127.0.0.1:{dead}",
                                                  "insecure-skip-tls-verify": True}}],
        "users": [{"name": "gone", "user": {"token": "x"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "gone"}}]}))
    home.mkdir(parents=True, exist_ok=True)
    (home / "lab.json").write_text(json.dumps({
        "backend": "sandbox", "kubeconfig": str(config), "context": "gone",
        "created_by_kubelab": True}))


def test_unreachable_cluster(isolated_home, tmp_path):
    record_dead_lab(isolated_home, tmp_path)
    proc = kubelab("status")
    assert_clean_failure(proc, "does not answer", "kubelab up")


def test_missing_binary(isolated_home, tmp_path):
    proc = kubelab("up", "--backend", "sandbox",
                   env={"KUBELAB_KUBE_APISERVER_BINARY": str(tmp_path / "missing")})
    assert_clean_failure(proc, "not an executable file", "KUBELAB_KUBE_APISERVER_BINARY")


def test_wrong_binary_version(isolated_home, tmp_path):
    from kubelab._base import versions
    from kubelab._build import binaries
    fake = tmp_path / "etcd"
    fake.write_text("#!/bin/sh\necho 'etcd Version: 3.4.23'\n")
    fake.chmod(0o755)
    # the components looked up before etcd, as the pinned version says it, so nothing is
    # built (or fetched) on a machine whose cache lacks them
    pinned = tmp_path / "pinned-kubernetes"
    pinned.write_text(f"#!/bin/sh\necho 'Kubernetes {versions.KUBERNETES}'\n")
    pinned.chmod(0o755)
    before = binaries.SANDBOX_COMPONENTS[:binaries.SANDBOX_COMPONENTS.index("etcd")]
    env = {binaries.COMPONENTS[n].env_var: str(pinned) for n in before}
    proc = kubelab("up", "--backend", "sandbox", env={**env, "KUBELAB_ETCD_BINARY": str(fake)})
    assert_clean_failure(proc, "v3.4.23", "pins")


def test_status_without_a_lab(isolated_home):
    proc = kubelab("status")
    assert proc.returncode == 1 and "kubelab up" in proc.stdout


@pytest.mark.parametrize("flag", [["-o", "json"], ["--output=json"], ["--json"]])
def test_status_as_json_is_json_even_without_a_lab(isolated_home, flag):
    proc = kubelab("status", *flag)
    assert proc.returncode == 1
    status = json.loads(proc.stdout)
    assert status["running"] is False and "kubelab up" in status["problem"]


def test_status_as_json_is_json_when_the_lab_does_not_answer(isolated_home, tmp_path):
    record_dead_lab(isolated_home, tmp_path)
    proc = kubelab("status", "-o", "json")
    assert proc.returncode == 1 and "does not answer" in proc.stderr
    status = json.loads(proc.stdout)
    assert status["running"] is True and status["reachable"] is False and status["problem"]


def test_env_lines_survive_eval_with_awkward_paths(isolated_home, tmp_path):
    odd = tmp_path / "a dir with 'quotes', $HOME and spaces"
    odd.mkdir()
    config = odd / "kube config"
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "lab.json").write_text(json.dumps({
        "backend": "existing", "kubeconfig": str(config), "context": "ctx with space",
        "created_by_kubelab": False}))
    proc = kubelab("env")
    assert proc.returncode == 0, proc.stderr
    shell = subprocess.run(
        ["bash", "-c", 'eval "$1"; printf "%s\n%s\n" "$KUBECONFIG" "${PATH%%:*}"; alias kubectl',
         "bash", proc.stdout], capture_output=True, text=True, timeout=30)
    assert shell.returncode == 0, shell.stderr
    kubeconfig, path_head, alias = shell.stdout.splitlines()
    assert kubeconfig == str(config)
    assert Path(path_head, "kubectl").exists()
    assert shlex.split(alias.split("=", 1)[1])[0] == "kubectl --context='ctx with space'"


def test_env_lines_quote_every_value():
    lines = cli.lab.env_lines("/x/y z/kubeconfig", "/opt/bin dir", "kind-kubelab")
    assert lines == ["export KUBECONFIG='/x/y z/kubeconfig'",
                     "export PATH='/opt/bin dir':\"$PATH\"",
                     "alias kubectl='kubectl --context=kind-kubelab'"]


def test_open_as_root_headless_on_a_chosen_address(isolated_home):
    argv, url, notes = cli.open.open_command("/usr/bin/jupyter", "ko", port=8890,
                                             ip="0.0.0.0", as_root=True, headless=True,
                                             token="t0k")
    root = workbook.notebooks_dir()
    assert argv[:3] == ["/usr/bin/jupyter", "lab", str(root / "ko" / "00-start-here.ipynb")]
    for flag in ("--allow-root", "--no-browser", "--port=8890", "--ip=0.0.0.0",
                 "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}"):
        assert flag in argv, flag
    assert url == "http://127.0.0.1:8890/lab/tree/ko/00-start-here.ipynb?token=t0k"
    assert any("--allow-root" in n for n in notes) and any("no browser" in n for n in notes)


def test_open_as_a_user_with_a_display_adds_nothing_it_was_not_asked_for(isolated_home):
    argv, url, notes = cli.open.open_command("jupyter", "en", port=8888)
    assert "--allow-root" not in argv and "--no-browser" not in argv
    assert not [a for a in argv if a.startswith("--ip")]
    assert url == "http://127.0.0.1:8888/lab/tree/00-start-here.ipynb" and notes == []
    argv, url, _ = cli.open.open_command("jupyter", "en", port=9000, ip="::1",
                                         no_browser=True)
    assert "--no-browser" in argv and url.startswith("http://[::1]:9000/lab/tree/")


def test_open_refuses_a_taken_port_before_starting_anything():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(KubelabError) as e:
            cli.open.lab_port(port, None)
    assert f"port {port}" in e.value.problem and "--port" in e.value.fix
    assert cli.open.lab_port(None, "127.0.0.1") >= 8888


def test_open_without_the_chapters_names_where_it_looked(isolated_home, tmp_path):
    empty = tmp_path / "no-chapters"
    empty.mkdir()
    proc = kubelab("open", env={"KUBELAB_NOTEBOOKS": str(empty)})
    assert_clean_failure(proc, "chapters were not found", str(empty), "clone",
                         "KUBELAB_NOTEBOOKS")
    assert not (isolated_home / "lab.json").exists()        # nothing was started


def test_chapters_are_found_from_an_installed_package_run_in_a_checkout(monkeypatch, tmp_path):
    """A `pip install .` (not -e): the package is in site-packages, the chapters are in
    the checkout the user runs from."""
    monkeypatch.setattr(workbook, "PACKAGE", tmp_path / "site-packages" / "kubelab")
    monkeypatch.delenv("KUBELAB_NOTEBOOKS", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(KubelabError) as e:
        workbook.notebooks_dir()
    assert str(tmp_path / "site-packages") in e.value.problem and "clone" in e.value.fix
    monkeypatch.chdir(ROOT)
    assert workbook.notebooks_dir() == ROOT / "notebooks"
    assert workbook.chapter("05a-pods-replicasets") == \
        ROOT / "notebooks" / "05a-pods-replicasets.ipynb"
    with pytest.raises(KubelabError, match="no chapter 'nope'"):
        workbook.chapter("nope")


BLOCK_PAPERMILL = """
import sys
sys.modules["papermill"] = None         # as if it were not installed
from kubelab.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_bench_workshop_without_papermill_says_so_in_one_line(isolated_home):
    proc = kubelab("bench", "workshop", "--count", "2", python=("-c", BLOCK_PAPERMILL))
    assert_clean_failure(proc, "papermill", "not installed", ".[test]")
    assert proc.stderr.count("\n") == 2                   # the problem, and its fix
    assert not (isolated_home / "lab.json").exists()


def test_down_without_a_lab_is_harmless(isolated_home):
    proc = kubelab("down")
    assert proc.returncode == 0 and "nothing to stop" in proc.stdout


@pytest.mark.parametrize("text, phrase", [
    ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n spec: {}\n", "line 5"),
    ("apiVersion: v1\nkind: Pod\nmetadata:\n\tname: x\n", "malformed"),
    ("kind: Pod\nmetadata: {name: x}\n", "no apiVersion"),
    ("apiVersion: v1\nkind: Pod\nspec: {}\n", "no metadata.name"),
    ("- just\n- a list\n", "not a mapping"),
    ("", "empty"),
])
def test_malformed_yaml_is_explained(text, phrase):
    with pytest.raises(KubelabError) as e:
        manifests.parse(text)
    assert phrase in str(e.value) and e.value.fix


def test_doctor_lists_each_prerequisite(isolated_home):
    proc = kubelab("doctor")
    assert "kubectl v1." in proc.stdout
    assert "kind:" in proc.stdout and "minikube:" in proc.stdout
    assert "`kubelab up` would use:" in proc.stdout
