"""Chapter 03's exercises, solved (see kubelab/solutions/__init__.py). They work on the
chapter's scratch kubeconfig, which the check cell passes in."""
from __future__ import annotations

from kubelab._session.solutions import solution, wrong


@solution("current-minikube", reveals=("config use-context minikube",))
def current_minikube(lab, *, scratch, config) -> None:  # noqa: ANN001
    """kubectl config use-context minikube (on the scratch file)"""
    scratch.kubectl("config use-context minikube", config)


@wrong("current-minikube", shows=("current context", "writes the file"))
def context_for_one_command(lab, *, scratch, config) -> None:  # noqa: ANN001
    """kubectl --context minikube get pods (on the scratch file: minikube for one
    command, the current context unchanged)"""
    scratch.kubectl("--context minikube get pods", config)


@solution("system-context",
          reveals=("config set-context system --cluster=default --user=default",))
def system_context(lab, *, scratch, config) -> None:  # noqa: ANN001
    """kubectl config set-context system --cluster=default --user=default
    --namespace=kube-system (on the scratch file)"""
    scratch.kubectl("config set-context system --cluster=default --user=default "
                    "--namespace=kube-system", config)


@wrong("system-context", shows=("namespace kube-system", "each with its own flag"))
def without_the_namespace(lab, *, scratch, config) -> None:  # noqa: ANN001
    """kubectl config set-context system --cluster=default --user=default (on the
    scratch file; the namespace forgotten)"""
    scratch.kubectl("config set-context system --cluster=default --user=default", config)


@wrong("system-context", shows=("'cluster': 'minikube'", "a cluster, a user"))
def on_the_other_cluster(lab, *, scratch, config) -> None:  # noqa: ANN001
    """kubectl config set-context system --cluster=minikube --user=default
    --namespace=kube-system (on the scratch file; another cluster)"""
    scratch.kubectl("config set-context system --cluster=minikube --user=default "
                    "--namespace=kube-system", config)
