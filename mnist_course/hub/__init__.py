"""The course on a class hub (issue #15): JupyterHub on one machine, learners as system users, nbgrader's exchange.

    roster.py              `mnist-course roster ROSTER.csv`: the learners as system users (PAM passwords)
    serve.py               `mnist-course hub`: JupyterHub from jupyterhub_config.py, as root
    exchange.py            `mnist-course exchange release|collect|autograde|feedback`: the instructor's steps
    config.py              the settings the three share; jupyter-config/: nbgrader's exchange and the
                           learner's Assignments tab, on the single-user servers' JUPYTER_CONFIG_PATH

docs/HUB.md tells the whole class from an empty machine to feedback in learners' hands.
"""
