"""taian-titles: measure nine of 泰人社发〔2025〕5号 as explainable rules.

Data flows one way: exchange JSON → model → facts → engine → outcomes → explanation →
renderings.  The public surface is what this module exports.
"""

from .api import BatchError, evaluate, evaluate_many
from .decision import Decision, Explanation, NotMet, Note, Outcome
from .errors import InputError, Problem, RulesetError
from .exchange import (
    applicant_from_dict,
    applicant_to_dict,
    recommendation_list_from_dict,
    recommendation_list_to_dict,
)
from .model import (
    Achievement,
    Applicant,
    Candidate,
    Certificate,
    CertificateKind,
    Direction,
    Level,
    RecommendationList,
    SkillLevel,
    SkillLevelRecord,
    Title,
    WorkKind,
    WorkPeriod,
)
from .quota import CityReport, QuotaResult, check_quota, city_report
from .ruleset import Ruleset, default_ruleset, load_ruleset

__version__ = "0.1.0"

__all__ = [
    "evaluate", "evaluate_many", "check_quota", "QuotaResult", "city_report", "CityReport", "BatchError", "Decision", "Outcome", "NotMet", "Note", "Explanation",
    "InputError", "Problem", "RulesetError", "Ruleset", "load_ruleset", "default_ruleset",
    "applicant_from_dict", "applicant_to_dict", "recommendation_list_from_dict",
    "recommendation_list_to_dict", "Applicant", "Certificate", "CertificateKind", "Direction",
    "Level", "WorkKind", "WorkPeriod", "SkillLevel", "SkillLevelRecord", "Title", "Achievement",
    "Candidate", "RecommendationList",
]
