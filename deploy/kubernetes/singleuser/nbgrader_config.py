"""nbgrader on the hub: the course id and the exchange that every learner pod and the grader Jobs mount
(storage.yaml: the nbgrader-exchange volume). nbgrader reads this from JUPYTER_CONFIG_PATH, so learners
(whose servers run in their home folder) and the grader (in the course folder, whose
nbgrader_config.py adds the course layout) see the same two settings.
"""

c = get_config()  # noqa: F821 -- provided by traitlets when it runs this file

c.CourseDirectory.course_id = "mnist-course"
c.Exchange.root = "/srv/nbgrader/exchange"
# Submissions are named <learner>+<lesson>+<time>+<random>: without the random part a learner could
# guess another's submission folder in the inbound directory (nbgrader issue #978). The default; stated.
c.ExchangeSubmit.add_random_string = True
