"""Model answers for ``check.X.solution()``, read from the course's ``solutions/`` notebooks.

The answers are not part of this package: a learner of a graded class, who receives the released
lessons without ``solutions/``, gets a note instead of the answer key.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

COURSE = Path(__file__).resolve().parents[2]  # the checkout that holds mnist_ref/ (an editable install)
MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def _lesson_folder(key: str) -> Path | None:
    number = key.removeprefix("lesson")[:2]
    found = sorted((COURSE / "solutions").glob(f"{number}_*/{number}_*.ipynb"))
    return found[0] if found else None


def model_answer(key: str, title: str) -> str:
    """The solution cell that defines ``title``, without nbgrader's markers, or why there is none."""
    notebook = _lesson_folder(key) if key else None
    if notebook is None:
        return f"No solutions/ in this copy of the course: ask your instructor about {title}."
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    defines = re.compile(rf"^(def|class)\s+{re.escape(title)}\b", re.MULTILINE)
    for cell in cells:
        source = "".join(cell["source"])
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution") and defines.search(source):
            lines = [line for line in source.splitlines() if not MARKER.match(line)]
            return f"📖 A model answer for {title} (from {notebook.relative_to(COURSE)}):\n\n" + "\n".join(lines)
    return f"No model answer for {title} in {notebook.relative_to(COURSE)}."
