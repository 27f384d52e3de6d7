"""The answers to the chapters' exercises, kept out of the learner's sight.

A chapter's check cell says *what* must hold (`lab.exercise("scale-web", "web runs 4
Ready pods", ...)`) and gives a hint; the answer is folded in the chapter's Solution
markdown, and here as code, for CI: with KUBELAB_SOLVE=1 an unsolved exercise runs its
solution from this package and is checked again.

One module per chapter, named after it (`_00_start_here.py` for 00-start-here). Each
solution is a function `(lab, **given)` marked `@solution("exercise-id")`; its docstring's
first line says what it does (printed when CI runs it), and `reveals` lists the text that
gives the answer away, which tests/test_exercises.py wants inside the chapter's folded
Solution and nowhere else in the notebook.

Beside each solution, the mistakes learners make: functions `(lab, **given)` marked
`@wrong("exercise-id", shows=(...))`, in the order CI tries them. With KUBELAB_SOLVE=1 each
is applied after the unsolved check failed, and the check must refuse it, printing (in
its description, the detail it saw, or its hint) the words of `shows`: what the learner
needs to see about that mistake. `undo` puts back what the wrong answer changed when the
next wrong answer or the solution could not start from there. Every exercise has at
least one (tests/test_exercises.py).
"""
from __future__ import annotations

import importlib
from typing import Callable

from kubelab._base.errors import KubelabError

Solution = Callable[..., object]


def solution(exercise_id: str, *, reveals: tuple[str, ...] = ()) -> Callable[[Solution], Solution]:
    def mark(fn: Solution) -> Solution:
        fn.exercise_id = exercise_id      # type: ignore[attr-defined]
        fn.reveals = reveals              # type: ignore[attr-defined]
        return fn
    return mark


def wrong(exercise_id: str, *, shows: tuple[str, ...],
          undo: Solution | None = None) -> Callable[[Solution], Solution]:
    """Mark a plausible wrong answer to `exercise_id`: its docstring's first line says
    what it does, `shows` the words the refusal must print, `undo` (lab, **given) what
    puts the exercise back in its unsolved state, when the solution cannot repair it."""
    def mark(fn: Solution) -> Solution:
        fn.wrong_for = exercise_id        # type: ignore[attr-defined]
        fn.shows = shows                  # type: ignore[attr-defined]
        fn.undo = undo                    # type: ignore[attr-defined]
        return fn
    return mark


def module_name(chapter: str) -> str:
    """'05a-pods-replicasets' -> 'kubelab.solutions._05a_pods_replicasets'."""
    return f"{__name__}._{chapter.replace('-', '_')}"


def load(chapter: str) -> dict[str, Solution]:
    """The solutions of one chapter, by exercise id ({} for a chapter without any)."""
    try:
        module = importlib.import_module(module_name(chapter))
    except ModuleNotFoundError:
        return {}
    return {fn.exercise_id: fn for fn in vars(module).values()
            if callable(fn) and hasattr(fn, "exercise_id")}


def wrong_answers(chapter: str, exercise_id: str | None = None) -> list[Solution]:
    """The wrong answers of one chapter (of one exercise), in the order they are written."""
    try:
        module = importlib.import_module(module_name(chapter))
    except ModuleNotFoundError:
        return []
    return [fn for fn in vars(module).values()
            if callable(fn) and hasattr(fn, "wrong_for")
            and exercise_id in (None, fn.wrong_for)]


def find(chapter: str, exercise_id: str) -> Solution:
    found = load(chapter).get(exercise_id)
    if found is None:
        raise KubelabError(f"chapter {chapter} has no stored solution for exercise "
                           f"{exercise_id!r}.",
                           f"add one to kubelab/solutions/_{chapter.replace('-', '_')}.py.")
    return found


def describe(fn: Solution) -> str:
    """The first line of a solution's docstring: what it does, in a terminal's words."""
    doc = (fn.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else getattr(fn, "__name__", "the solution")
