"""The course's JupyterLab settings, the learner's and the instructor's. `make formgrader` puts this
folder first on JUPYTER_CONFIG_PATH, `make lab` right after learner/ (the learner's lab: no instructor
panels or menus); Jupyter reads them before the user's ~/.jupyter, so nothing is written to, or
needed in, the home folder.
"""

import os
import sys
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from traitlets import default

c = get_config()  # noqa: F821 -- provided by traitlets when it runs this file

# The environment's executables first on PATH, as if it were activated: `make lab` starts
# .venv/bin/jupyter without activating .venv, and the formgrader's gradebook runs the
# `alembic` executable from PATH (without this, the formgrader's assignment list is an error).
# Kernels inherit it too, so `!pip` and `!nbgrader` in a notebook are the environment's.
BIN = str(Path(sys.executable).parent)
if os.environ.get("PATH", "").split(os.pathsep)[0] != BIN:
    os.environ["PATH"] = os.pathsep.join(filter(None, [BIN, os.environ.get("PATH")]))

# Containers, Codespaces and Docker images often run everything as root, and Jupyter refuses to
# start as root unless told to: the course allows it there (only there), and says so.
if hasattr(os, "geteuid") and os.geteuid() == 0:
    c.ServerApp.allow_root = True
    print(
        "Note: running as root (a container?); the course's jupyter-config allows it. "
        "On a shared machine, start JupyterLab as an ordinary user instead.",
        file=sys.stderr,
    )

# Land on the course index (rendered: see labconfig/default_setting_overrides.json).
c.LabApp.default_url = "/lab/tree/START-HERE.md"

# No "official Jupyter news?" prompt and no update check: a class does not need them, and
# classroom machines often cannot reach the internet.
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"

# Notebooks run on the Python that runs JupyterLab (with `make lab`: .venv, where mnist_ref
# and the course's packages are installed), and only there: the kernels in the home folder
# (`ipykernel install --user`, other environments' kernels) would be offered beside it in the
# launcher, and outside a venv/conda env a home-folder "python3" would even replace it.


class CourseKernelSpecManager(KernelSpecManager):
    @default("kernel_dirs")
    def _kernel_dirs_default(self):
        return [str(Path(sys.prefix) / "share" / "jupyter" / "kernels")]


c.ServerApp.kernel_spec_manager_class = CourseKernelSpecManager
