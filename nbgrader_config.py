"""nbgrader configuration of the course (nbgrader 0.9). nbgrader reads it from the current
directory, so run nbgrader commands from the project root.

    solutions/<lesson>/   source notebooks (solutions, hidden tests)     tracked
    lessons/<lesson>/     released notebooks, made by generate_assignment tracked
    grading/              submissions, grades, feedback, gradebook.db    git-ignored

Release all lessons with `python scripts/release_lessons.py` (generate_assignment --no-db: no
gradebook needed). Autograding needs the gradebook: first `nbgrader generate_assignment LESSON
--force`, which writes the same lessons/ bytes plus grading/gradebook.db. See docs/NBGRADER-NOTES.md.
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

# generate_assignment already clears outputs (ClearOutput) and stubs solutions with
# ClearSolutions' defaults ("# YOUR CODE HERE" / "raise NotImplementedError()" and
# "YOUR ANSWER HERE"); those defaults are kept on purpose, the lessons tell learners so.

# `nbgrader zip_collect LESSON` reads grading/downloaded/LESSON/archive/ (zips or notebooks)
# named <student>_attempt_<YYYY-MM-DD-HH-MM-SS>_<lesson>.ipynb; the regexp sees the full path.
c.FileNameCollectorPlugin.named_regexp = (
    r".*/(?P<student_id>[^/]+)_attempt_(?P<timestamp>[0-9\-]+)_(?P<file_id>[^/]+)$"
)

# --- autograding robustness (grading_tools/preprocessors.py; see docs/INSTRUCTORS.md) ---------
# The gradebook is a sqlite file in grading/: sqlite cannot create it when grading/ is missing
# (fresh clone), and nbgrader then blames the database version ("nbgrader db upgrade").
(COURSE / "grading").mkdir(exist_ok=True)
# nbgrader imports these by name; the course folder must be importable (plain `nbgrader`
# console script does not put the cwd on sys.path).
import sys  # noqa: E402

if str(COURSE) not in sys.path:
    sys.path.insert(0, str(COURSE))
# nbgrader 0.9.6 defaults, with DeduplicateIds -> DropDuplicateIds (a duplicated test cell
# no longer aborts the class's autograde) and Execute -> RobustExecute (a dead kernel costs
# the cells after it, not the whole notebook).
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "grading_tools.preprocessors.DropDuplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "grading_tools.preprocessors.RobustExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# A deleted test cell is put back (from the gradebook, after the cell before it) and run,
# instead of scoring None/"needs manual grade" (nbgrader's default: add_missing_cells=False).
c.OverwriteCells.add_missing_cells = True
