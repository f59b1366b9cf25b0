"""The learner's workspace (mnist_ref/workspace.py, made by `make lab`): copied once, never overwritten."""

import json
from datetime import date
from pathlib import Path

import pytest

from mnist_course.course import lesson_names
from mnist_ref.workspace import DEFAULT_FOLDER, VERSIONS, WorkspaceError, main, update_workspace

ROOT = Path(__file__).resolve().parent.parent
DAY = date(2026, 11, 25)
A, B = "lessons/a/a.ipynb", "lessons/b/b.ipynb"


@pytest.fixture
def course(tmp_path) -> Path:
    """A course with two lessons, and a checkpoint JupyterLab left beside one of them."""
    folder = tmp_path / "course"
    for name in (A, B, "START-HERE.md", "lessons/a/.ipynb_checkpoints/a-checkpoint.ipynb"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(f"released {name}\n")
    return folder


def release(course: Path, name: str, text: str) -> None:
    """The course publishes `text` as `name` (a git pull of a new or changed lesson)."""
    (course / name).parent.mkdir(parents=True, exist_ok=True)
    (course / name).write_text(text)


def tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_first_start_copies_the_index_and_the_lessons(course, tmp_path):
    work = tmp_path / "work"
    assert update_workspace(course, work) == []
    files = tree(work)
    assert {name: text for name, text in files.items() if name != VERSIONS} == {
        "START-HERE.md": "released START-HERE.md\n",
        A: f"released {A}\n",
        B: f"released {B}\n",
    }  # no checkpoint: hidden files are nobody's lesson
    assert sorted(json.loads(files[VERSIONS])) == ["START-HERE.md", A, B]


def test_the_real_course_gives_every_released_lesson(tmp_path):
    update_workspace(ROOT, tmp_path / "work")
    for lesson in lesson_names(ROOT):
        name = f"lessons/{lesson}/{lesson}.ipynb"
        assert (tmp_path / "work" / name).read_bytes() == (ROOT / name).read_bytes()
    assert (tmp_path / "work" / "START-HERE.md").is_file()


def test_a_second_start_keeps_the_learners_edits(course, tmp_path):
    work = tmp_path / "work"
    update_workspace(course, work)
    (work / A).write_text("my answers\n")
    (work / "notes.md").write_text("mine\n")
    before = tree(work)
    assert update_workspace(course, work) == []
    assert tree(work) == before


@pytest.mark.parametrize("edited", [True, False], ids=["edited", "untouched"])
def test_an_updated_lesson_is_offered_beside_the_learners_copy(course, tmp_path, edited):
    work = tmp_path / "work"
    update_workspace(course, work)
    if edited:
        (work / A).write_text("my answers\n")
    mine = (work / A).read_text()
    release(course, A, "version 2\n")

    notes = update_workspace(course, work, today=DAY)
    offered = work / "lessons/a/a.update-2026-11-25.ipynb"
    assert (work / A).read_text() == mine  # never overwritten, even where nothing was changed
    assert offered.read_text() == "version 2\n"
    assert notes == [
        f"{offered.relative_to(work).as_posix()}: the course's new version of {A}, beside your copy "
        "(which is unchanged)"
    ]

    assert update_workspace(course, work, today=DAY) == []  # offered once, not at every start
    offered.unlink()  # the learner took what they wanted from it
    assert update_workspace(course, work, today=DAY) == [] and not offered.exists()

    release(course, A, "version 3\n")  # a second update the same day takes the next free name
    update_workspace(course, work, today=DAY)
    assert (work / "lessons/a/a.update-2026-11-25.ipynb").read_text() == "version 3\n"
    release(course, A, "version 4\n")
    update_workspace(course, work, today=DAY)
    assert (work / "lessons/a/a.update-2026-11-25-2.ipynb").read_text() == "version 4\n"


def test_a_deleted_lesson_comes_back_fresh_but_never_over_a_file_in_its_place(course, tmp_path):
    work = tmp_path / "work"
    update_workspace(course, work)
    release(course, A, "version 2\n")
    (work / A).unlink()  # deleting a lesson is how to start it over, from the version released now
    assert update_workspace(course, work, today=DAY) == [f"{A}: copied (you deleted your copy)"]
    assert (work / A).read_text() == "version 2\n"

    (work / B).unlink()
    (work / B).write_text("my own notebook, by the lesson's name\n")  # the learner's file at that path
    assert update_workspace(course, work, today=DAY) == []
    assert (work / B).read_text() == "my own notebook, by the lesson's name\n"


def test_a_new_lesson_of_the_course_arrives_with_a_note(course, tmp_path):
    work = tmp_path / "work"
    update_workspace(course, work)
    release(course, "lessons/c/c.ipynb", "new\n")
    assert update_workspace(course, work) == ["lessons/c/c.ipynb: copied (new in the course)"]


def test_a_workspace_whose_record_was_lost_keeps_every_file(course, tmp_path):
    work = tmp_path / "work"
    update_workspace(course, work)
    (work / A).write_text("my answers\n")
    (work / VERSIONS).unlink()
    notes = update_workspace(course, work, today=DAY)
    assert (work / A).read_text() == "my answers\n"
    assert notes == [
        f"lessons/a/a.update-2026-11-25.ipynb: the course's new version of {A}, beside your copy (which is unchanged)"
    ]


def test_without_lessons_there_is_a_clear_error_and_no_workspace(tmp_path, capsys):
    with pytest.raises(WorkspaceError, match="has no lessons/ folder.*start from the course folder"):
        update_workspace(tmp_path, tmp_path / "work")
    assert main(["--course", str(tmp_path), str(tmp_path / "work")]) == 1
    assert "has no lessons/ folder" in capsys.readouterr().err
    assert not (tmp_path / "work").exists()
    (tmp_path / "lessons").mkdir()
    with pytest.raises(WorkspaceError, match="holds no lessons"):
        update_workspace(tmp_path, tmp_path / "work")


def test_the_command_says_where_the_workspace_is_and_what_arrived(course, tmp_path, capsys):
    work = tmp_path / "work"
    assert main(["--course", str(course), str(work)]) == 0
    assert capsys.readouterr().out == f"Your workspace: {work} (made from the course's lessons/)\n"
    (work / B).unlink()
    assert main(["--course", str(course), str(work)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"Your workspace: {work} (your work is kept; nothing in it is overwritten)",
        f"  {B}: copied (you deleted your copy)",
    ]


def test_the_learners_index_describes_the_workspace_this_makes(course, tmp_path):
    index = (ROOT / "START-HERE.md").read_text()
    assert f"`{DEFAULT_FOLDER}/lessons/<lesson>/<lesson>.ipynb`" in index
    assert "`01_mnist_data.update-2026-11-25.ipynb`" in index  # the name an update of 01 gets on that day
    work = tmp_path / "work"
    update_workspace(course, work)
    release(course, A, "version 2\n")
    assert update_workspace(course, work, today=DAY)[0].startswith("lessons/a/a.update-2026-11-25.ipynb:")
