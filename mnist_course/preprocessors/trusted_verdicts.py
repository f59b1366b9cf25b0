"""TrustedVerdicts: each graded test cell scores what the grader decides, not what the kernel printed.

After the learner's notebook ran, a graded test cell holds, among whatever the learner's code
printed, the answers its ``check.X.hidden(X)`` reported (display data of type
``application/vnd.mnist-course.answers+json``). Here, in the grading process, each exercise of
the cell is judged from those answers and the trusted requests PrepareRequests kept, and the
cell's outputs are REPLACED by the verdict: a "passed" line, or an error with the check's
message. SaveAutoGrades then scores the cell from that alone; a patched check, an error the
learner's code suppressed or a printed "✅" cannot change a score.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor

from mnist_ref.checks.framework import CheckFailed
from mnist_ref.checks.grading import ANSWERS_MIMETYPE, REQUESTS_ENV

from ..checks import answer_name, verdict
from .grading_requests import STATE


def _stopped_early(outputs) -> str:
    errors = [o for o in outputs if o.output_type == "error"]
    if not errors:
        return "the grader's check did not run in this cell."
    if errors[-1].ename in ("CheckFailed", "NotAttempted"):  # the visible check stopped the cell: its message
        return str(errors[-1].evalue)[:2000]
    return f"the cell stopped before the grader's check ran ({errors[-1].ename}: {errors[-1].evalue})."[:2000]


def judge_cell(keys: list[str], requests: dict, outputs) -> tuple[list[str], list[str]]:
    """(passed lines, failure messages) for the exercises of one cell, from its outputs' answers."""
    answers: dict[str, list] = {}
    for output in outputs:
        payload = output.get("data", {}).get(ANSWERS_MIMETYPE) if output.output_type == "display_data" else None
        if payload is not None:
            exercise = payload.get("exercise") if isinstance(payload, dict) else None
            answers.setdefault(str(exercise), []).append(payload)
    passed, failed = [], []
    for key in keys:
        found = answers.get(key, [])
        name = answer_name(key)
        try:
            if len(found) != 1:
                raise CheckFailed(
                    f"{name}: " + (_stopped_early(outputs) if not found else "answered more than once; not graded.")
                )
            verdict(key, requests[key], json.loads(json.dumps(found[0])))  # NotebookNode -> exact built-ins
        except CheckFailed as exc:
            failed.append(str(exc))
        except Exception as exc:  # malformed answers reach the judge; they can only fail
            failed.append(f"{name}: the grader could not read the answers ({type(exc).__name__}: {exc}).")
        else:
            passed.append(f"✅ {name}: passed the grader's checks.")
    return passed, failed


class TrustedVerdicts(NbGraderPreprocessor):
    """Replace the outputs of graded test cells by the grader's verdict."""

    def preprocess(self, nb, resources):
        state = resources.get(STATE)
        if state is None:
            return nb, resources
        try:
            for cell in nb.cells:
                keys = state["cells"].get(cell.metadata.get("nbgrader", {}).get("grade_id"), [])
                if cell.cell_type != "code" or not keys:
                    continue
                passed, failed = judge_cell(keys, state["requests"], cell.outputs)
                cell.outputs = [new_output("stream", name="stdout", text="\n".join(passed) + "\n")] if passed else []
                if failed:
                    text = "\n".join(failed)
                    cell.outputs.append(new_output("error", ename="CheckFailed", evalue=text, traceback=[text]))
        finally:
            Path(state["file"]).unlink(missing_ok=True)
            if os.environ.get(REQUESTS_ENV) == state["file"]:
                del os.environ[REQUESTS_ENV]
        return nb, resources
