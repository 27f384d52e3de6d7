"""Chapter 03's exercises, solved (see kubelab/solutions/__init__.py). The first two work
on the chapter's scratch kubeconfig, which the check cell passes in; reader-logs on the
cluster's RBAC objects in the chapter's namespace."""
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


# reader-logs works on the cluster itself: the ServiceAccount reader and its Role pod-reader
# exist (the chapter's RBAC cell made them, on a lab of one's own).
@solution("reader-logs", reveals=("create role log-reader --verb=get --resource=pods/log",))
def reader_logs(lab) -> None:  # noqa: ANN001
    """kubectl create role log-reader --verb=get --resource=pods/log, then kubectl create
    rolebinding reader-reads-logs --role=log-reader --serviceaccount=<namespace>:reader"""
    lab.kubectl("create role log-reader --verb=get --resource=pods/log")
    lab.kubectl(f"create rolebinding reader-reads-logs --role=log-reader "
                f"--serviceaccount={lab.namespace}:reader")


def _delete_log_reader(lab) -> None:  # noqa: ANN001
    """kubectl delete rolebinding reader-reads-logs; kubectl delete role log-reader"""
    lab.kubectl("delete rolebinding reader-reads-logs --ignore-not-found")
    lab.kubectl("delete role log-reader --ignore-not-found")


@wrong("reader-logs", shows=("RoleBinding",), undo=_delete_log_reader)
def role_without_a_binding(lab) -> None:  # noqa: ANN001
    """kubectl create role log-reader --verb=get --resource=pods/log (no RoleBinding gives
    it to reader: a Role alone grants nothing)"""
    lab.kubectl("create role log-reader --verb=get --resource=pods/log")


@wrong("reader-logs", shows=("pods/log",), undo=_delete_log_reader)
def rule_on_pods_only(lab) -> None:  # noqa: ANN001
    """kubectl create role log-reader --verb=get --resource=pods, then kubectl create
    rolebinding reader-reads-logs --role=log-reader --serviceaccount=<namespace>:reader (a
    rule on pods does not cover their subresource pods/log)"""
    lab.kubectl("create role log-reader --verb=get --resource=pods")
    lab.kubectl(f"create rolebinding reader-reads-logs --role=log-reader "
                f"--serviceaccount={lab.namespace}:reader")
