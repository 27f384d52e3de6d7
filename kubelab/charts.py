"""Pictures of what the cluster did, drawn with matplotlib into display handles that
change live in JupyterLab.

Public: the notebooks import this module; its code lives in `kubelab._session.charts`."""
from kubelab._session.charts import (
    PALETTE,
    LiveChart,
    Moments,
    Shown,
    canary_share,
    follow_rollout,
    follow_service,
    ingress_map,
    label,
    png,
    pods_per_node,
    rollout,
    rollout_moments,
    rollouts,
    service_map,
    show,
    total_ready,
)

__all__ = ["LiveChart", "Moments", "PALETTE", "Shown", "canary_share", "follow_rollout", "follow_service", "ingress_map", "label", "png", "pods_per_node", "rollout", "rollout_moments", "rollouts", "service_map", "show", "total_ready"]
