"""Self-checks of lesson 07 · Evaluation.

Convention everywhere: ``cm[true, predicted]`` counts (rows: the true digit, columns: the
model's answer), as :mod:`mnist_ref.evaluation`. The notebook's provided cells use the library's
functions as ``check.reference_*``, so it runs without the exercises (an answer that is or calls
them earns nothing: the grader refuses the library's own version of an exercise).

``confusion_matrix`` and ``per_class_accuracy`` are checked in :mod:`.confusion`,
``most_confused_pairs`` and ``misclassified_indices`` in :mod:`.mistakes`.
"""

from mnist_ref.evaluation import confusion_matrix as reference_confusion_matrix
from mnist_ref.evaluation import misclassified_indices as reference_misclassified_indices
from mnist_ref.evaluation import most_confused_pairs as reference_most_confused_pairs
from mnist_ref.evaluation import per_class_accuracy as reference_per_class_accuracy

from .confusion import confusion_matrix, per_class_accuracy
from .mistakes import misclassified_indices, most_confused_pairs
from .questions import q_choose_on, q_first_mistake, q_validation_mistakes

__all__ = [
    "confusion_matrix",
    "misclassified_indices",
    "most_confused_pairs",
    "per_class_accuracy",
    "q_choose_on",
    "q_first_mistake",
    "q_validation_mistakes",
    "reference_confusion_matrix",
    "reference_misclassified_indices",
    "reference_most_confused_pairs",
    "reference_per_class_accuracy",
]
