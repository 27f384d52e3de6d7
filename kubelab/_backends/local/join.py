"""How a second and third node join: a bootstrap token, then TLS bootstrapping.

The same mechanism kubeadm uses (and a K3s agent's K3S_TOKEN stands for): a shared secret,
kept as a Secret of type bootstrap.kubernetes.io/token in kube-system, proves the new node
to the API server for its first requests. Its kubelet uses it once, to file a
CertificateSigningRequest for its own client certificate; the controller-manager approves
it (the token's group may ask for node client certificates) and signs it with the
cluster's CA. From then on the kubelet talks with its own certificate.
"""
from __future__ import annotations

import json
import secrets
import string
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kubelab._cluster.cluster import Cluster

GROUP = "system:bootstrappers:kubelab"     # the token's extra group, as kubeadm's
TOKEN_TTL = timedelta(hours=24)            # kubeadm's default; the tokencleaner removes it
_ALPHABET = string.ascii_lowercase + string.digits


def new_token() -> tuple[str, str]:
    """(id, secret): [a-z0-9]{6} and [a-z0-9]{16}, the format the API server accepts."""
    return ("".join(secrets.choice(_ALPHABET) for _ in range(6)),
            "".join(secrets.choice(_ALPHABET) for _ in range(16)))


def control_plane_args(pki: Path) -> tuple[str, ...]:
    """What the control plane needs for a join: the API server accepts bootstrap tokens;
    the controller-manager signs certificates with the CA, publishes cluster-info
    (bootstrapsigner) and removes expired tokens (tokencleaner). A node whose kubelet stops
    turns NotReady after 50 s (kwokctl's 3m20s suits simulated nodes only)."""
    return ("kube-apiserver=enable-bootstrap-token-auth=true",
            f"kube-controller-manager=cluster-signing-cert-file={pki / 'ca.crt'}",
            f"kube-controller-manager=cluster-signing-key-file={pki / 'ca.key'}",
            "kube-controller-manager=controllers=*,bootstrapsigner,tokencleaner",
            "kube-controller-manager=node-monitor-period=5s",
            "kube-controller-manager=node-monitor-grace-period=50s")


def manifests(token_id: str, token_secret: str) -> str:
    """The token Secret and kubeadm's three bindings: the token's group may file CSRs and
    have node client certificates approved; nodes may have their renewals approved."""
    expires = (datetime.now(timezone.utc) + TOKEN_TTL).strftime("%Y-%m-%dT%H:%M:%SZ")
    secret = {
        "apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
        "metadata": {"name": f"bootstrap-token-{token_id}", "namespace": "kube-system"},
        "stringData": {"description": "kubelab: joins the local backend's nodes 2 and 3",
                       "token-id": token_id, "token-secret": token_secret,
                       "expiration": expires, "usage-bootstrap-authentication": "true",
                       "usage-bootstrap-signing": "true", "auth-extra-groups": GROUP}}

    def binding(name: str, role: str, group: str) -> dict:
        return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": name},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                            "name": role},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                              "name": group}]}
    csr = "system:certificates.k8s.io:certificatesigningrequests"
    items = [secret,
             binding("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", GROUP),
             binding("kubeadm:node-autoapprove-bootstrap", f"{csr}:nodeclient", GROUP),
             binding("kubeadm:node-autoapprove-certificate-rotation",
                     f"{csr}:selfnodeclient", "system:nodes")]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items})


def create_token(cluster: Cluster) -> str:
    """A new token and its rights in the cluster; returns `<id>.<secret>`."""
    token_id, token_secret = new_token()
    cluster.kubectl(["apply", "-f", "-"], input=manifests(token_id, token_secret))
    return f"{token_id}.{token_secret}"

