"""`progress`: the checks each learner passed, read from the record their chapters keep in
their first namespace, and shown as a table."""
from __future__ import annotations

from kubelab._base.contract import (LEARNER_LABEL, PROGRESS_CONFIGMAP, WORKSHOP_LABEL,
                                    ProgressRecord, learner_namespace)
from kubelab._cluster.cluster import Cluster


def progress(cluster: Cluster, workshop: str) -> dict[str, dict[str, dict[str, bool]]]:
    """learner -> chapter -> check -> passed, read from each learner's namespace."""
    from kubernetes import client
    core = client.CoreV1Api(cluster.api_client())
    table: dict[str, dict[str, dict[str, bool]]] = {}
    namespaces = core.list_namespace(label_selector=f"{WORKSHOP_LABEL}={workshop}").items
    for ns in sorted(namespaces, key=lambda n: n.metadata.name):
        learner = ns.metadata.labels.get(LEARNER_LABEL)
        if ns.metadata.name != learner_namespace(workshop, learner):
            continue                                  # the -b namespaces hold no progress
        table[learner] = {}
        try:
            cm = core.read_namespaced_config_map(PROGRESS_CONFIGMAP, ns.metadata.name)
        except client.ApiException as e:
            if e.status == 404:
                continue
            raise
        for chapter, raw in (cm.data or {}).items():
            table[learner][chapter] = ProgressRecord.loads(raw).checks
    return table


def progress_table(table: dict[str, dict[str, dict[str, bool]]]) -> str:
    chapters = sorted({c for per in table.values() for c in per})
    header = f"{'learner':<20}" + "".join(f"{c[:14]:>16}" for c in chapters) + f"{'total':>10}"
    lines = [header]
    for learner, per in sorted(table.items()):
        cells, total = [], 0
        for c in chapters:
            checks = per.get(c, {})
            passed = sum(checks.values())
            total += passed
            cells.append(f"{passed}/{len(checks)}" if checks else "-")
        lines.append(f"{learner:<20}" + "".join(f"{x:>16}" for x in cells) + f"{total:>10}")
    return "\n".join(lines)
