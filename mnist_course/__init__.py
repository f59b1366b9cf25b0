"""The instructor side of the course: release, collect, autograde, feedback and export with nbgrader.

Not part of what learners need (that is mnist_ref). The console script `mnist-course` (cli.py) runs
one step per subcommand; nbgrader_config.py names the preprocessors in `mnist_course.preprocessors`,
so plain `nbgrader autograde` and `mnist-course autograde` grade alike.
"""
