#!/bin/sh
# The instructor's side of a class on the hub, in the course image (release-job.yaml, grade-job.yaml):
#
#   grade.sh release [LESSON...] gradebook + released notebooks (mnist-course release), then each LESSON
#                                put into the exchange for learners to fetch (nbgrader release_assignment)
#   grade.sh grade [LESSON...]   collect the learners' submissions from the exchange, autograde them in
#                                parallel (mnist-course autograde), make the feedback and hand it back
#                                (nbgrader release_feedback), export grades.csv and the class report
# No LESSON: every lesson of solutions/.
#
# The course folder lives on the course-grading volume (gradebook, submissions, feedback, grades.csv):
# its sources come from the image each run, its grading/ stays. Course id and exchange: singleuser/nbgrader_config.py.
set -eu

COURSE=${COURSE:-/srv/grading/course}
step=${1:?usage: grade.sh release [LESSON...] | grade.sh grade [LESSON...]}
shift

mkdir -p "$COURSE/grading"
# nbgrader_config.py is copied, not linked: it puts the gradebook beside itself (grading/gradebook.db).
cp -a /srv/course/nbgrader_config.py /srv/course/solutions /srv/course/lessons "$COURSE/"
cd "$COURSE"
[ "$#" -gt 0 ] || set -- $(python -c 'from pathlib import Path; from mnist_course.course import lesson_names; print(*lesson_names(Path()))')

case "$step" in
release)
    mnist-course --course "$COURSE" release
    for lesson in "$@"; do nbgrader release_assignment "$lesson" --force; done
    ;;
grade)
    for lesson in "$@"; do nbgrader collect "$lesson" --update; done
    mnist-course --course "$COURSE" autograde --workers "${WORKERS:-2}"
    mnist-course --course "$COURSE" feedback
    for lesson in "$@"; do nbgrader release_feedback "$lesson"; done
    mnist-course --course "$COURSE" export
    mnist-course --course "$COURSE" report
    ;;
*)
    echo "grade.sh: unknown step '$step' (release or grade)" >&2
    exit 2
    ;;
esac
