"""Parse the YAML a learner wrote, and say where it is wrong before kubectl sees it."""
from __future__ import annotations

import yaml

from kubelab._base.errors import KubelabError
from kubelab._base.i18n import tr


def parse(text: str) -> list[dict]:
    """The documents in `text`, each checked to look like a Kubernetes object."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        where = ""
        mark = getattr(e, "problem_mark", None)
        if mark is not None:
            lines = text.splitlines()
            line = lines[mark.line] if mark.line < len(lines) else ""
            where = tr(" at line {line}, column {column}:\n    {text}", line=mark.line + 1,
                       column=mark.column + 1, text=line)
        problem = getattr(e, "problem", None) or str(e)
        raise KubelabError(tr("the YAML is malformed{where}\n  ({problem})", where=where,
                              problem=problem),
                           tr("YAML nests by spaces (never tabs); check the indentation and "
                              "the colon after each key on that line.")) from None
    if not docs:
        raise KubelabError(tr("the YAML is empty."), tr("write at least one object "
                                                         "(apiVersion, kind, metadata, spec)."))
    for i, doc in enumerate(docs, 1):
        if not isinstance(doc, dict):
            raise KubelabError(tr("document {i} is not a mapping (it is a {type}).", i=i,
                                  type=type(doc).__name__),
                               tr("each document starts with `apiVersion:` and `kind:`."))
        missing = [k for k in ("apiVersion", "kind") if k not in doc]
        if missing:
            raise KubelabError(tr("document {i} has no {fields}.", i=i,
                                  fields=tr(" and no ").join(missing)),
                               tr("add them, e.g. `apiVersion: apps/v1` and "
                                  "`kind: Deployment`."))
        if doc.get("kind") != "List" and not (doc.get("metadata") or {}).get("name") \
                and not (doc.get("metadata") or {}).get("generateName"):
            raise KubelabError(tr("document {i} ({kind}) has no metadata.name.", i=i,
                                  kind=doc["kind"]),
                               tr("give it a name under `metadata:`."))
    return docs
