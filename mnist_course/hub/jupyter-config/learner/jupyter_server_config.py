"""A learner's server on the class hub: the course's learner lab (jupyter-config/learner) plus nbgrader's
Assignments tab (fetch, submit, fetch feedback; Nbgrader > Assignment List, the only item of that menu whose
plugin is on), which the exchange of the hub makes useful. This folder
is first on JUPYTER_CONFIG_PATH and replaces the learner lab's list of nbgrader server extensions.
"""

c = get_config()  # noqa: F821 -- provided by traitlets when it runs this file

c.ServerApp.jpserver_extensions = {
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.course_list": False,
    "nbgrader.server_extensions.assignment_list": True,
}
