"""A learner's nbgrader on the class hub (the Validate button, `nbgrader validate` in a terminal): the
course's settings that Validate uses, from the course's nbgrader_config.py ($MNIST_COURSE_FOLDER, set by
the hub), so Validate judges stderr and time limits as the autograder does. Only those sections
(mnist_course/hub/config.py: LEARNER_NBGRADER_SECTIONS): nothing of the gradebook or the grader's checks.
"""

import os

from mnist_course.hub.config import COURSE_ENV, learner_nbgrader_config

c = get_config()  # noqa: F821 -- provided by traitlets when it runs this file

if COURSE_ENV in os.environ:  # a learner's server on the hub (the hub sets it)
    c.merge(learner_nbgrader_config(os.environ[COURSE_ENV]))
