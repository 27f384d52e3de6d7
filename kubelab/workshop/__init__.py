"""Workshops: one shared cluster, a namespace pair per learner, a scoped and expiring login.

`create` makes, per learner: namespaces NAME and NAME-b (Pod Security Admission enforces
`baseline` there and warns about `restricted`), a ServiceAccount, a Role and RoleBinding
in each namespace (what the chapters need, nothing cluster-wide), a ResourceQuota and
LimitRange in each (nobody starves the cluster), a small ClusterRole for the read-only
cluster-wide facts the chapters show (nodes, IngressClasses, and its own two namespaces
by name), and a kubeconfig holding a TokenRequest token that expires. Once per workshop,
a ValidatingAdmissionPolicy and its binding refuse Secrets of type
kubernetes.io/service-account-token in the workshop's namespaces, so no learner can mint
a token that outlives their login. Every object carries the workshop's label, and
`delete` removes exactly those.

The names on the cluster (labels, the node-port annotation, the progress ConfigMap, the
learner's ServiceAccount and Role, the second namespace's suffix) are kubelab's contract
with the chapters, in kubelab/_base/contract.py. Here: learners.py (who), ports.py (each
learner's slot and fixed nodePorts, issued from the cluster, never twice, held by
reservation Services), manifests.py (the objects), roster.py (who is in a workshop now),
provision.py (`create`, `add`, `renew`), records.py (`progress`), board.py (the
instructor's live board), teardown.py (`reset`, `remove`, `delete`), instructor.py (which
cluster). A learner's login also reads the Ingress controller's Service by name. There is no limit on a class's size.
"""
from __future__ import annotations

from kubelab._base.contract import LEARNER_LABEL, WORKSHOP_LABEL
from kubelab.workshop.board import Board
from kubelab.workshop.instructor import instructor_cluster
from kubelab.workshop.learners import Learner, learners_from
from kubelab.workshop.manifests import (LEARNER_RULES, QUOTA, objects_for, policy_name,
                                        probe_objects, workshop_objects)
from kubelab.workshop.ports import allocated_node_ports, issue, ledger, node_port_range
from kubelab.workshop.provision import (add, create, learner_kubeconfig, renew,
                                        wait_until_enforced)
from kubelab.workshop.records import progress, progress_table
from kubelab.workshop.roster import chosen, existing_learners, workshop_exists
from kubelab.workshop.teardown import DELETED_KINDS, busy_namespaces, delete, remove, reset

__all__ = ["DELETED_KINDS", "LEARNER_LABEL", "LEARNER_RULES", "QUOTA", "WORKSHOP_LABEL",
           "Board", "Learner", "add", "allocated_node_ports", "busy_namespaces", "chosen", "create",
           "delete", "existing_learners", "instructor_cluster", "issue", "learner_kubeconfig",
           "learners_from", "ledger", "node_port_range", "objects_for", "policy_name",
           "probe_objects", "progress", "progress_table", "remove", "renew", "reset",
           "wait_until_enforced", "workshop_exists", "workshop_objects"]
