"""nbgrader configuration of the course (nbgrader 0.9): configuration only, no side effects.
nbgrader reads it from the current directory, so plain `nbgrader` commands run from the project
root; `mnist-course STEP` finds the course from any folder and runs them there.

    solutions/<lesson>/   source notebooks (solutions, hidden tests)     tracked
    lessons/<lesson>/     released notebooks, made by generate_assignment tracked
    grading/              submissions, grades, feedback, gradebook.db    git-ignored

Release all lessons with `mnist-course lessons` (generate_assignment --no-db: no gradebook
needed). Autograding needs the gradebook: `mnist-course release` (generate_assignment LESSON
--force for each lesson), which writes the same lessons/ bytes plus grading/gradebook.db.
See docs/INSTRUCTORS.md and docs/NBGRADER-NOTES.md.
"""

from pathlib import Path

c = get_config()  # noqa: F821 -- provided by traitlets when it runs this file

# Where this file is (traitlets sets __file__): the gradebook follows the course folder.
COURSE = Path(__file__).resolve().parent

# Course folders are nbgrader "steps" in {step}/{student_id}/{assignment_id}; a step may
# contain a slash, which puts every instructor working folder under grading/.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "lessons"
c.CourseDirectory.submitted_directory = "grading/submitted"
c.CourseDirectory.autograded_directory = "grading/autograded"
c.CourseDirectory.feedback_directory = "grading/feedback"
c.CourseDirectory.solution_directory = "grading/solution"
c.CourseDirectory.source_with_tests_directory = "grading/source_with_tests"
c.ZipCollectApp.downloaded_directory = "grading/downloaded"
# Defaults would write gradebook.db and grades.csv (`nbgrader export`) into the project root.
c.CourseDirectory.db_url = f"sqlite:///{COURSE / 'grading' / 'gradebook.db'}"
c.ExportPlugin.to = "grading/grades.csv"

# Per-cell time limit of `nbgrader validate` and `nbgrader autograde`. nbgrader's own
# preprocessor is Execute (nbgrader/preprocessors/execute.py, default 30 s);
# ExecutePreprocessor.timeout is NOT read (nbgrader issue #915). Lessons run a quick
# budget when NBGRADER_EXECUTION is set, well inside this.
c.Execute.timeout = 120
# A kernel has nothing left to do once its last cell ran: killing it (with a sandbox, its whole namespace)
# instead of asking it to exit skips Python's teardown of torch, about 1.3 s of CPU per lesson
# (benchmarks/grading_cost.py). Validate and autograde, plain nbgrader and `mnist-course` alike.
c.Execute.shutdown_kernel = "immediate"

# generate_assignment already clears outputs (ClearOutput) and stubs solutions with
# ClearSolutions' defaults ("# YOUR CODE HERE" / "raise NotImplementedError()" and
# "YOUR ANSWER HERE"); those defaults are kept on purpose, the lessons tell learners so.

# `nbgrader zip_collect LESSON` reads grading/downloaded/LESSON/archive/ (zips or notebooks)
# named <student>_attempt_<YYYY-MM-DD-HH-MM-SS>_<lesson>.ipynb; the regexp sees the full path.
c.FileNameCollectorPlugin.named_regexp = r".*/(?P<student_id>[^/]+)_attempt_(?P<timestamp>[0-9\-]+)_(?P<file_id>[^/]+)$"

# --- autograding robustness (mnist_course/preprocessors/; see docs/INSTRUCTORS.md) -----------
# nbgrader 0.9.6 defaults, with DeduplicateIds -> DropDuplicateIds (a duplicated test cell
# no longer aborts the class's autograde), OverwriteCells -> ForgetUnknownCells (a test cell
# with a changed or foreign grade_id costs that exercise, not the lesson), Execute ->
# RobustExecute (a dead kernel costs the cells after it, not the whole notebook), and
# StderrAsStdout after it (a warning, log line or progress bar from a correct answer no
# longer fails its test cell). PrepareRequests and TrustedVerdicts around the execution decide
# every graded test cell here, from data the learner's kernel reports (mnist_course/checks/).
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "mnist_course.preprocessors.DropDuplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "mnist_course.preprocessors.ForgetUnknownCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "mnist_course.preprocessors.PrepareRequests",
    "mnist_course.sandbox.SandboxedExecute",  # RobustExecute; as root, each kernel in a sandbox (docs: Sandbox)
    "mnist_course.preprocessors.TrustedVerdicts",
    "mnist_course.preprocessors.StderrAsStdout",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# A deleted (or renamed) test cell is put back from the gradebook, after the nearest earlier
# cell of the lesson, and run, instead of scoring None/"needs manual grade" (nbgrader's
# default: add_missing_cells=False). It also applies to ForgetUnknownCells, a subclass.
c.OverwriteCells.add_missing_cells = True
# The learner's Validate (`nbgrader validate`, the Validate button) judges test cells as
# autograde does, stderr included, but its preprocessors cannot be configured: its kernel
# sends what is written to sys.stderr to stdout instead (warnings, logging handlers and
# progress bars made in the notebook, all of which look sys.stderr up after start-up).
c.Validator.Execute.extra_arguments = ["--IPKernelApp.exec_lines=import sys; sys.stderr = sys.stdout"]
