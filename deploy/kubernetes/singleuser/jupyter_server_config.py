"""A learner's JupyterLab on the hub: first on JUPYTER_CONFIG_PATH (the image's), before the course's
learner view (jupyter-config/learner/) and the course's own settings (jupyter-config/), which apply
unchanged (course kernel only, no news, no update check). What differs on the hub: lessons come and go
through nbgrader's exchange, so the learner gets the Assignments tab (assignment list, course list)
that the one-person `make lab` hides; the formgrader stays off (the instructor grades in grade-job.yaml).
"""

c = get_config()  # noqa: F821 -- provided by traitlets when it runs this file

# Replaces the learner view's dict whole (traitlets does not merge a dict across config files).
c.ServerApp.jpserver_extensions = {
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.course_list": True,
    "nbgrader.server_extensions.assignment_list": True,
}

# The home folder holds the fetched lessons (~/<lesson>/), not the course index of `make lab`.
c.LabApp.default_url = "/lab"
