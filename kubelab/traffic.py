"""Requests counted while something changes (rollouts), and one HTTP GET to the lab.

Public: the notebooks import this module; its code lives in `kubelab._session.traffic`."""
from kubelab._session.traffic import (
    SCRIPT,
    Kubectl,
    Tally,
    Traffic,
    http_get,
    tally,
)

__all__ = ["Kubectl", "SCRIPT", "Tally", "Traffic", "http_get", "tally"]
