"""The learner's JupyterLab: `make lab` puts this folder before jupyter-config/ on JUPYTER_CONFIG_PATH
and opens the learner's workspace (my-work/), so only what a learner needs is in sight.

Of nbgrader, the learner keeps the Validate button (validate-assignment). labconfig/page_config.json
turns off the instructor's parts in the browser: the Create Assignment panel, the Nbgrader menu (its
items are the formgrader, the course list and the assignment list), and those three; here, their
server parts. The assignment list and course list show nbgrader's exchange, which a course started
with `make lab` does not have (and the assignment list warns at every start without an nbgrader_config.py
in the workspace). The instructor's JupyterLab, with all of nbgrader: `make formgrader`.
"""

c = get_config()  # noqa: F821 -- provided by traitlets when it runs this file

c.ServerApp.jpserver_extensions = {
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.course_list": False,
    "nbgrader.server_extensions.assignment_list": False,
}
