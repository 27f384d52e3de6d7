"""Checks and exercises: a claim about the cluster is printed as ✓ or stops the chapter
with ✗ and a hint, and is recorded (a workshop learner's record is what the instructor's
progress table reads)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

from kubelab._base.errors import CheckFailed, ExerciseUnfit, WaitTimeout
from kubelab._base.i18n import chapter_text, tr
from kubelab._session.reads import Reads
from kubelab._session.scope import Scope


@dataclass
class CheckResult:
    description: str
    passed: bool
    detail: str = ""


class Grading:
    """A chapter's checks, recorded in `results`; `subject` is what an exercise's stored
    solution is given to act with (the chapter's Lab)."""

    def __init__(self, chapter: str, results: list[CheckResult], reads: Reads, scope: Scope,
                 subject: object) -> None:
        self.chapter, self.results, self.reads, self.scope = chapter, results, reads, scope
        self.subject = subject

    def check(self, description: str, condition: Callable[[], object] | bool,
              hint: str = "", *, within: float = 0, watch: str = "Pod") -> None:
        """Assert a claim about the cluster: print ✓ and go on, or stop with ✗ and a hint.
        `condition` may return a bool or (bool, detail); a wait in it that runs out of
        time counts as False (any other error is reported as it is). With `within`, give
        the cluster that many seconds to settle: the condition is evaluated again on every
        change to `watch` objects in the chapter's namespace (the watch API, not a sleep
        loop)."""
        def evaluate() -> tuple[bool, str]:
            try:
                value = condition() if callable(condition) else condition
            except WaitTimeout as e:     # only a wait that ran out means "not yet"
                value = (False, e.problem)
            ok, detail = value if isinstance(value, tuple) else (bool(value), "")
            return bool(ok), str(detail)

        passed, detail = evaluate()
        if not passed and within > 0:
            last = [(passed, detail)]

            def settled(_objects: list[dict]) -> bool:
                last[0] = evaluate()
                return last[0][0]
            try:
                # the settling runs its course: in an exercise that starts broken, pods
                # that cannot start (ImagePullBackOff) are there until the repair removes
                # them, and their events must not cut a repaired answer's seconds short
                self.reads.wait_for(watch, settled, timeout=within,
                                    describe=chapter_text(self.chapter, description),
                                    progress=within > 5, stop_on=False)
            except WaitTimeout:     # not settled in time: report the last evaluation
                pass
            passed, detail = last[0]
        # the record keeps the English description (the instructor's progress table
        # reads it); what is printed is in the learner's language
        self.results.append(CheckResult(description, passed, detail))
        if self.scope.learner:
            self.scope.record_progress()
        shown = chapter_text(self.chapter, description)
        if passed:
            print(f"✓ {shown}" + (f"  ({detail})" if detail else ""))
            return
        raise CheckFailed(shown + (tr("\n  seen: {detail}", detail=detail) if detail else ""),
                          chapter_text(self.chapter, hint) if hint else
                          tr("compare your cluster with the experiment above."))

    def exercise(self, exercise_id: str, description: str, condition: Callable[[], object],
                 hint: str, *, given: dict | None = None, watch: str = "Pod",
                 solution: Callable[..., object] | None = None,
                 wrong: list[Callable[..., object]] | None = None) -> None:
        """Check a learner's answer to this chapter's exercise `exercise_id`.

        Unsolved, it fails with the hint (a nudge, never the answer); the answer waits in
        the chapter's folded Solution. With KUBELAB_SOLVE=1 (CI), an unsolved exercise
        runs its solution, kept out of the notebook in kubelab/solutions/ (by chapter and
        exercise id; `given` passes it the notebook's values it needs, such as a URL),
        and checks again: every exercise is tested both unsolved and solved. `solution`
        replaces the stored one (tests).

        A learner's answer gets 3 s to settle (pods starting, say). With KUBELAB_SOLVE=1
        nobody answered, so the unsolved check is evaluated once, and must fail: an
        exercise that passes before anyone did it could never tell a wrong answer.

        Then, still in CI, each stored wrong answer (the mistakes learners make, kept
        beside the solution; `wrong` replaces them, for tests) is applied in turn: the
        check, given a learner's 3 s, must refuse it, and what it prints must point at the
        mistake; what the wrong answer did is undone where the solution could not repair
        it. Only then does the solution run, and the check must pass."""
        from kubelab._session import solutions
        solving = os.environ.get("KUBELAB_SOLVE") == "1"
        try:
            self.check(description, condition, hint, within=0 if solving else 3, watch=watch)
        except CheckFailed as failed:
            if not solving:
                raise CheckFailed(failed.problem, failed.fix + tr(
                    "\n  stuck? the Solution below the check (click to open) shows one "
                    "answer.")) from None
            self.results.pop()
        else:
            if not solving:
                return
            raise ExerciseUnfit(
                tr("exercise {exercise} passed before anything was done for it: its check "
                   "cannot tell an answer from no answer.", exercise=exercise_id),
                tr("make the check ask for what the exercise asks the learner to change, "
                   "or reset what an earlier cell left behind."))
        solve = solution or solutions.find(self.chapter, exercise_id)
        # KUBELAB_WRONG_ANSWERS=0: a pass whose checks another pass already tried with
        # every wrong answer (the same chapter in Korean, say) runs the solution alone
        trying = os.environ.get("KUBELAB_WRONG_ANSWERS", "1") != "0"
        mistakes = wrong if wrong is not None else \
            [] if solution or not trying else solutions.wrong_answers(self.chapter,
                                                                      exercise_id)
        for mistake in mistakes:
            self._refuse(exercise_id, description, condition, hint, watch, mistake,
                         given or {})
        print(tr("(not solved yet; KUBELAB_SOLVE=1, so running the solution of exercise "
                 "{exercise}: {steps})", exercise=exercise_id,
                 steps=solutions.describe(solve)))
        solve(self.subject, **(given or {}))
        self.check(description, condition, hint, within=30, watch=watch)

    def _refuse(self, exercise_id: str, description: str, condition: Callable[[], object],
                hint: str, watch: str, mistake: Callable[..., object], given: dict) -> None:
        """Apply one wrong answer (CI): the check must refuse it within a learner's 3 s,
        and the refusal must print the words the mistake `shows`, in the English text
        of the description, the detail seen and the hint (what a learner reads in any
        language, since the catalogue translates those entries). Then undo it, if it
        says how."""
        from kubelab._session import solutions
        steps = solutions.describe(mistake)
        print(tr("(KUBELAB_SOLVE=1: trying a wrong answer to exercise {exercise}: {steps})",
                 exercise=exercise_id, steps=steps))
        mistake(self.subject, **given)
        try:
            self.check(description, condition, hint, within=3, watch=watch)
        except CheckFailed as refused:
            detail, problem = self.results.pop().detail, refused.problem
        else:
            self.results.pop()
            raise ExerciseUnfit(
                tr("exercise {exercise} accepted a wrong answer: {steps}", exercise=exercise_id,
                   steps=steps),
                tr("make the check ask for what this answer gets wrong."))
        printed = "\n".join((description, detail, hint)).lower()
        missing = [w for w in getattr(mistake, "shows", ()) if w.lower() not in printed]
        if missing:
            raise ExerciseUnfit(
                tr("exercise {exercise} refused the wrong answer “{steps}”, but what it "
                   "printed does not point at the mistake: no {words} in it.",
                   exercise=exercise_id, steps=steps, words=", ".join(map(repr, missing))),
                tr("make the hint, or the detail the check shows, name what this answer "
                   "gets wrong."))
        print(tr("  refused, as it should be: {problem}",
                 problem=problem.replace("\n", " ")))
        undo = getattr(mistake, "undo", None)
        if undo is not None:
            print(tr("  undoing it: {steps}", steps=solutions.describe(undo)))
            undo(self.subject, **given)
