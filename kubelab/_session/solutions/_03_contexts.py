"""Chapter 03's exercises, solved (see kubelab/solutions/__init__.py). They work on the
chapter's scratch kubeconfig, which the check cell passes in."""
from __future__ import annotations

from kubelab._session.solutions import solution


@solution("current-minikube", reveals=("config use-context minikube",))
def current_minikube(lab, *, scratch, config) -> None:  # noqa: ANN001
    """kubectl config use-context minikube (on the scratch file)"""
    scratch.kubectl("config use-context minikube", config)


@solution("system-context",
          reveals=("config set-context system --cluster=default --user=default",))
def system_context(lab, *, scratch, config) -> None:  # noqa: ANN001
    """kubectl config set-context system --cluster=default --user=default
    --namespace=kube-system (on the scratch file)"""
    scratch.kubectl("config set-context system --cluster=default --user=default "
                    "--namespace=kube-system", config)
