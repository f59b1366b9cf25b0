"""A two-exercise nbgrader lesson, 00_demo: the fixture of the autograding robustness tests.

Not part of the course (it lists the seven lessons): tests/test_autograde.py writes it into
the temporary course's solutions/, where a class of ordinary and hostile students is graded
in seconds per student instead of minutes.
"""

from pathlib import Path

from nbgrader_cells import answer, code, markdown, solution, tests, write_notebook

NAME = "00_demo"

CELLS = [
    markdown("""
        # 00 · Demo: how the exercises work

        Write your code where a cell says `# YOUR CODE HERE` (delete the `raise` line), then run
        the cell below it: it checks your answer. More checks run when your work is graded.
        """),
    code("""
        MEAN, STD = 0.1307, 0.3081  # mean and standard deviation of the MNIST training pixels
        print(f"MNIST pixels are normalized with mean {MEAN} and std {STD}")
        """),
    markdown("""
        ## Exercise 1 (1 point)

        Write `normalize(pixel)`: scale a pixel value from 0..255 to 0..1, then subtract `MEAN`
        and divide by `STD`.
        """),
    solution(
        "normalize",
        """
        def normalize(pixel):
            ### BEGIN SOLUTION
            return (pixel / 255 - MEAN) / STD
            ### END SOLUTION
        """,
    ),
    tests(
        "normalize_tests",
        1,
        """
        assert abs(normalize(0) - (-0.4242)) < 1e-3, "black (0) should become about -0.4242"
        ### BEGIN HIDDEN TESTS
        assert abs(normalize(255) - 2.8215) < 1e-3
        ### END HIDDEN TESTS
        """,
    ),
    markdown("""
        ## Exercise 2 (2 points)

        Write `output_size(size, kernel, padding=0, stride=1)`: the width of the image that a
        convolution with a `kernel`×`kernel` filter produces from a `size`×`size` image.
        """),
    solution(
        "output_size",
        """
        def output_size(size, kernel, padding=0, stride=1):
            ### BEGIN SOLUTION
            return (size + 2 * padding - kernel) // stride + 1
            ### END SOLUTION
        """,
    ),
    tests(
        "output_size_tests",
        2,
        """
        assert output_size(28, 3) == 26, "a 3x3 filter without padding loses one pixel on each side"
        ### BEGIN HIDDEN TESTS
        assert output_size(28, 3, padding=1) == 28
        assert output_size(28, 2, stride=2) == 14
        ### END HIDDEN TESTS
        """,
    ),
    markdown("""
        ## Question (1 point, graded by hand)

        Why does the image get smaller after a convolution without padding?
        """),
    answer(
        "why_smaller",
        1,
        """
        The filter only fits where it lies entirely inside the image: a 3×3 filter has no room
        to be centred on the border pixels, so one pixel is lost on each side.
        """,
    ),
]


def write_demo_lesson(solutions: Path) -> Path:
    """Write the demo's source notebook as solutions/00_demo/00_demo.ipynb; return its path."""
    return write_notebook(Path(solutions) / NAME / f"{NAME}.ipynb", CELLS)
