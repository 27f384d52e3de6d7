"""What chapters' checks ask of API objects (plain dicts): readiness, owners,
endpoints, routes, rollouts.

Public: the notebooks import this module; its code lives in `kubelab._session.facts`."""
from kubelab._session.facts import (
    backend_weights,
    condition,
    condition_message,
    external_address,
    fewest_ready_pods,
    image_tag,
    image_tags,
    ingress_backend,
    ingress_routes,
    is_leaving,
    is_ready,
    moment_without_pods,
    never_fewer_ready,
    node_ports,
    owner,
    path_type,
    per_label,
    per_node,
    pod_status,
    port_chain,
    ready_addresses,
    restarted_and_ready,
    revisions,
    rollout_complete,
    rollout_story,
    route_accepted,
    service_port,
    shares,
    versions_ready_together,
    versions_side_by_side,
)

__all__ = ["backend_weights", "condition", "condition_message", "external_address", "fewest_ready_pods", "image_tag", "image_tags", "ingress_backend", "ingress_routes", "is_leaving", "is_ready", "moment_without_pods", "never_fewer_ready", "node_ports", "owner", "path_type", "per_label", "per_node", "pod_status", "port_chain", "ready_addresses", "restarted_and_ready", "revisions", "rollout_complete", "rollout_story", "route_accepted", "service_port", "shares", "versions_ready_together", "versions_side_by_side"]
