"""Studies: folders of training runs, validated into one in-memory object."""

from atlas_bayes.study.errors import StudyIssue, StudyValidationError
from atlas_bayes.study.study import Study, load_study, validate_study
from atlas_bayes.study.writing import write_study

__all__ = [
    "Study",
    "StudyIssue",
    "StudyValidationError",
    "load_study",
    "validate_study",
    "write_study",
]
