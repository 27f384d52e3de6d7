"""Chapter 06's exercises, solved (see kubelab/solutions/__init__.py)."""
from __future__ import annotations

from kubelab._session.solutions import solution, wrong

ADMIN = """\
apiVersion: v1
kind: Service
metadata: {{name: admin}}
spec:
  type: NodePort
  selector: {{app: web}}
  ports: [{{port: 9000, targetPort: 8080, nodePort: {node_port}}}]
"""


@solution("fix-typo", reveals=("%kubectl set selector service/typo app=web",))
def fix_typo(lab) -> None:  # noqa: ANN001
    """kubectl set selector service/typo app=web"""
    lab.kubectl(["set", "selector", "service/typo", "app=web"])


@wrong("fix-typo", shows=("[]", "SELECTOR"))
def labelled_the_service(lab) -> None:  # noqa: ANN001
    """kubectl label service typo app=web (a label on the Service: its selector stays
    app=wbe)"""
    lab.kubectl(["label", "service", "typo", "app=web", "--overwrite"])


@wrong("fix-typo", shows=("[]", "pods' labels"))
def one_label_too_many(lab) -> None:  # noqa: ANN001
    """kubectl set selector service/typo app=web,tier=frontend (no pod carries tier)"""
    lab.kubectl(["set", "selector", "service/typo", "app=web,tier=frontend"])


@solution("admin-port", reveals=("  - port: 9000\n    targetPort: 8080\n    nodePort: 30123",))
def admin_port(lab, *, admin_port: int) -> None:  # noqa: ANN001
    """kubectl apply a NodePort Service admin: nodePort <yours> -> 9000 -> 8080"""
    lab.apply(ADMIN.format(node_port=admin_port))


def _delete_admin(lab, **_: object) -> None:  # noqa: ANN001
    """kubectl delete service admin"""
    lab.kubectl(["delete", "service", "admin", "--ignore-not-found"])


@wrong("admin-port", shows=("8080, 9000", "9000 -> 8080"), undo=_delete_admin)
def ports_swapped(lab, *, admin_port: int) -> None:  # noqa: ANN001
    """kubectl apply a NodePort Service admin: nodePort <yours> -> 8080 -> 9000 (port and
    targetPort swapped)"""
    lab.apply(ADMIN.format(node_port=admin_port).replace(
        "port: 9000, targetPort: 8080", "port: 8080, targetPort: 9000"))


@wrong("admin-port", shows=("cannot choose the nodePort",), undo=_delete_admin)
def exposed_with_a_random_node_port(lab, *, admin_port: int) -> None:  # noqa: ANN001
    """kubectl expose deployment web --name=admin --type=NodePort --port=9000
    --target-port=8080 (the cluster picks the nodePort)"""
    lab.kubectl(["expose", "deployment", "web", "--name=admin", "--type=NodePort",
                 "--port=9000", "--target-port=8080"])


# Exercise 3 starts broken: `kubectl create service clusterip checkout --tcp=80` made
# port 80 -> targetPort 80, and the web pods listen on 8080.
CHECKOUT_PATCH = '{"spec":{"ports":[{"port":80,"targetPort":8080}]}}'


@solution("repair-checkout", reveals=(f"%kubectl patch service checkout -p '{CHECKOUT_PATCH}'",))
def repair_checkout(lab) -> None:  # noqa: ANN001
    """kubectl patch service checkout -p '{"spec":{"ports":[{"port":80,"targetPort":8080}]}}'"""
    lab.kubectl(["patch", "service", "checkout", "-p", CHECKOUT_PATCH])


def _port_80_again(lab) -> None:  # noqa: ANN001
    """kubectl patch service checkout: port 80 again (targetPort 80 stays)"""
    lab.kubectl(["patch", "service", "checkout", "--type=json", "-p",
                 '[{"op":"replace","path":"/spec/ports/0/port","value":80}]'])


@wrong("repair-checkout", shows=("'port 80': 'missing'", "clients still call port 80"),
       undo=_port_80_again)
def changed_only_the_port(lab) -> None:  # noqa: ANN001
    """kubectl patch service checkout: port 8080 (targetPort stays 80; clients call 80)"""
    lab.kubectl(["patch", "service", "checkout", "--type=json", "-p",
                 '[{"op":"replace","path":"/spec/ports/0/port","value":8080}]'])


@wrong("repair-checkout", shows=("'targetPort': 80,", "where the web pods listen"))
def exposed_it_again(lab) -> None:  # noqa: ANN001
    """kubectl delete service checkout; kubectl expose deployment web --name=checkout --port=80

    Without --target-port, targetPort is 80 again."""
    lab.kubectl(["delete", "service", "checkout", "--wait=true"])
    lab.kubectl(["expose", "deployment", "web", "--name=checkout", "--port=80"])
