"""Instructor-side helpers for nbgrader (not part of the learners' package mnist_ref).

`grading_tools.preprocessors` holds two drop-in replacements for nbgrader preprocessors that
nbgrader_config.py installs, so plain `nbgrader autograde` and scripts/grade_class.py behave alike.
"""
