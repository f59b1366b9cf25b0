"""nbgrader's exchange for a class hub (both roles): the course id and the shared exchange folder.

The hub's servers have this folder on JUPYTER_CONFIG_PATH and the values in their environment
(mnist_course/hub/config.py); the instructor's `mnist-course exchange ...` sets both the same way.
The Assignments tab needs both here: nbgrader's assignment list reads them from the Jupyter config
path, not from the server's settings.
"""

import os

from mnist_course.hub.config import COURSE_ID_ENV, DEFAULT_COURSE_ID, DEFAULT_EXCHANGE, EXCHANGE_ENV

c = get_config()  # noqa: F821 -- provided by traitlets when it runs this file

c.CourseDirectory.course_id = os.environ.get(COURSE_ID_ENV, DEFAULT_COURSE_ID)
c.Exchange.root = os.environ.get(EXCHANGE_ENV, str(DEFAULT_EXCHANGE))
