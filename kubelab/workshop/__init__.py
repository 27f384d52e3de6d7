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
with the chapters, in kubelab/_base/contract.py. Here: learners.py (who, and their
nodePorts), manifests.py (the objects), provision.py (`create`), records.py
(`progress`), teardown.py (`delete`), instructor.py (which cluster).
"""
from __future__ import annotations

from kubelab._base.contract import LEARNER_LABEL, WORKSHOP_LABEL
from kubelab.workshop.instructor import instructor_cluster
from kubelab.workshop.learners import MAX_LEARNERS, Learner, learners_from, node_port_base
from kubelab.workshop.manifests import (LEARNER_RULES, objects_for, policy_name,
                                        probe_objects, workshop_objects)
from kubelab.workshop.provision import create, learner_kubeconfig, wait_until_enforced
from kubelab.workshop.records import progress, progress_table
from kubelab.workshop.teardown import DELETED_KINDS, delete

__all__ = ["DELETED_KINDS", "LEARNER_LABEL", "LEARNER_RULES", "MAX_LEARNERS", "WORKSHOP_LABEL",
           "Learner", "create", "delete", "instructor_cluster", "learner_kubeconfig",
           "learners_from", "node_port_base", "objects_for", "policy_name", "probe_objects",
           "progress", "progress_table", "wait_until_enforced", "workshop_objects"]
