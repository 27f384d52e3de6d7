"""The shell a client pod runs for `lab.ask`, `lab.ask_each` and `lab.answers` (busybox
`sh` and `wget`), and how its output is read back. Written once here, so a chapter shows
the request it makes, not a loop in an f-string."""
from __future__ import annotations

import shlex
from collections import Counter

ANSWER = "answer: "
NO_ANSWER = ""


def _wget(url: str, host: str | None) -> str:
    header = f"--header {shlex.quote('Host: ' + host)} " if host else ""
    # busybox wget: -T is unreliable in 1.35, so `timeout` bounds each request
    return f"timeout 3 wget -qO- {header}{shlex.quote(url)} 2>/dev/null"


def ask_script(requests: list[tuple[str, str | None]], within: float) -> str:
    """Each request repeated (every 0.5 s, for up to `within` s) until it succeeds; one
    `answer: ...` line per request, empty when it never did."""
    parts = []
    for url, host in requests:
        parts.append(
            f"end=$(( $(date +%s) + {int(within)} )); r=''; "
            f"while :; do if r=$({_wget(url, host)}); then break; fi; r=''; "
            "[ $(date +%s) -ge $end ] && break; sleep 0.5; done; "
            f"echo \"{ANSWER}$(echo $r)\"")
    return "\n".join(parts)


def parse_answers(output: str, count: int) -> list[str]:
    found = [line[len(ANSWER):].strip() for line in output.splitlines()
             if line.startswith(ANSWER)]
    return (found + [NO_ANSWER] * count)[:count]


def count_script(url: str, times: int, host: str | None = None) -> str:
    """`times` requests in a row; one line each: the answer, or `fail`."""
    return (f"for i in $(seq {int(times)}); do "
            f"if r=$({_wget(url, host)}); then echo \"{ANSWER}$(echo $r)\"; "
            f"else echo '{ANSWER}fail'; fi; done")


def parse_counts(output: str) -> Counter:
    return Counter(line[len(ANSWER):].strip() or "fail" for line in output.splitlines()
                   if line.startswith(ANSWER))
