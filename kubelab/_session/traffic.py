"""Requests sent without pause to a Service while something changes (a rollout), then
counted: how many were served, how many failed, and which pods answered.

The client is a pod in the lesson's namespace, so it works the same on every backend with
containers and under a workshop login. It is bounded: it stops by itself after `seconds`,
or at `.stop()`, and is deleted then.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Protocol

from kubelab._base import versions
from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr

# busybox 1.35 wget crashes with -T (its own timeout), so `timeout` bounds each request.
SCRIPT = """\
end=$(( $(date +%s) + {seconds} ))
while [ ! -e /tmp/stop ] && [ $(date +%s) -lt $end ]; do
  if r=$(timeout 3 wget -qO- '{url}' 2>/dev/null); then echo "ok $r"; else echo fail; fi
  sleep {interval}
done
echo done
"""


class Kubectl(Protocol):
    def kubectl(self, args: list[str], *, check: bool = True,
                timeout: float = 60) -> str: ...


@dataclass
class Tally:
    served: int = 0
    failed: int = 0
    responders: Counter = field(default_factory=Counter)

    def __str__(self) -> str:
        return tr("{served} served, {failed} failed, answered by {pods} pods",
                  served=self.served, failed=self.failed, pods=len(self.responders))


def tally(log: str) -> Tally:
    t = Tally()
    for line in log.splitlines():
        if line.startswith("ok "):
            t.served += 1
            t.responders[line[3:].strip()] += 1
        elif line.strip() == "fail":
            t.failed += 1
    return t


class Traffic:
    """A client pod requesting `url` every `interval` seconds until stopped."""

    def __init__(self, lab: Kubectl, url: str, *, seconds: int = 180,
                 interval: float = 0.05, name: str = "traffic",
                 wait_for: Callable[..., object] | None = None) -> None:
        """`lab`: anything with kubectl (a chapter's Lab, or its commands); `wait_for`:
        how to follow the client pod's start (a Lab's own, when not given)."""
        self.lab, self.url, self.name = lab, url, name
        self.wait_for = wait_for or getattr(lab, "wait_for", None)
        script = SCRIPT.format(seconds=seconds, url=url, interval=interval)
        lab.kubectl(["delete", "pod", name, "--ignore-not-found", "--wait=true"],
                    timeout=60)
        lab.kubectl(["run", name, f"--image={versions.IMAGES['busybox']}",
                     "--restart=Never", "--labels=kubelab.dev/role=traffic",
                     f"--overrides={{\"spec\":{{\"activeDeadlineSeconds\":{seconds + 60},"
                     "\"terminationGracePeriodSeconds\":1}}", "--", "sh", "-c", script])
        self._wait_for_first_request()

    def _log(self) -> str:
        return self.lab.kubectl(["logs", self.name], check=False, timeout=30)

    def _wait_for_first_request(self, seconds: float = 90) -> None:
        """Until the client pod has its first answer: its start (pulled, started, or why
        not) shows as it happens, then how many requests failed so far."""
        from kubelab._session.progress import Waiting
        deadline = time.monotonic() + seconds
        if self.wait_for is not None:     # follow the pod and its events
            self.wait_for("Pod", lambda ps: bool(ps) and (ps[0].get("status") or {}).get(
                "phase") in ("Running", "Succeeded", "Failed"), name=self.name,
                timeout=seconds, describe=tr("the traffic pod {name} to start",
                                             name=self.name))
        waiting = Waiting(tr("the first answer from {url}", url=self.url),
                          max(1.0, deadline - time.monotonic()), stop_on=False)
        while time.monotonic() < deadline:
            t = tally(self._log())
            if t.served:
                waiting.finish(True)
                return
            waiting.tick(state=tr("{failed} requests failed so far", failed=t.failed))
            time.sleep(0.5)
        waiting.finish(False)
        raise KubelabError(tr("the traffic pod never got an answer from {url}.", url=self.url),
                           tr("check the Service and its pods: `kubectl describe pod "
                              "{name}`, `kubectl get endpointslices`.", name=self.name))

    def stop(self) -> Tally:
        """Stop requesting, count, and delete the client pod."""
        from kubelab._session.progress import Waiting
        self.lab.kubectl(["exec", self.name, "--", "touch", "/tmp/stop"], check=False,
                         timeout=30)
        waiting = Waiting(tr("the traffic pod to finish its last request"), 30, stop_on=False)
        deadline = time.monotonic() + 30
        log = self._log()
        while "done" not in log.split() and time.monotonic() < deadline:
            waiting.tick()
            time.sleep(0.5)
            log = self._log()
        waiting.finish("done" in log.split())
        self.lab.kubectl(["delete", "pod", self.name, "--wait=false"], check=False)
        return tally(log)


def http_get(url: str, *, host_header: str | None = None, within: float = 15) -> str:
    """GET `url` from this machine, retrying refused connections for up to `within`
    seconds: kube-proxy programs a new Service's rules a moment after it is created."""
    import urllib.error
    import urllib.request

    from kubelab._session.progress import Waiting
    headers = {"Host": host_header} if host_header else {}
    deadline = time.monotonic() + within
    waiting = Waiting(tr("an answer from {url}", url=url), within, stop_on=False)
    while True:
        try:
            req = urllib.request.Request(url, headers=headers)  # noqa: S310 (lab addresses)
            with urllib.request.urlopen(req, timeout=5) as r:  # noqa: S310 (lab addresses)
                body = r.read().decode()
            waiting.finish(True)
            return body
        except (urllib.error.URLError, OSError) as e:
            waiting.tick(state=str(getattr(e, "reason", e)))
            if time.monotonic() >= deadline:
                waiting.finish(False)
                raise KubelabError(tr("GET {url} failed for {seconds:.0f} s: {error}",
                                      url=url, seconds=within, error=e),
                                   tr("check that the Service has ready endpoints "
                                      "(`kubectl get endpointslices`) and that this machine "
                                      "can reach the address.")) from None
            time.sleep(0.5)
