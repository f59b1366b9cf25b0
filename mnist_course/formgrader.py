"""Grade the written answers by hand: JupyterLab on the course, opened on nbgrader's formgrader."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def formgrader(course: Path) -> int:
    """Run JupyterLab with the course's settings (jupyter-config/ first, as `make lab`) until it is stopped."""
    config_path = os.pathsep.join(filter(None, [str(course / "jupyter-config"), os.environ.get("JUPYTER_CONFIG_PATH")]))
    return subprocess.call(
        [sys.executable, "-m", "jupyter", "lab", "--LabApp.default_url=/formgrader"],
        cwd=course,
        env={**os.environ, "JUPYTER_CONFIG_PATH": config_path},
    )
