"""taian-titles: measure nine of 泰人社发〔2025〕5号 as explainable rules.

Data flows one way: exchange JSON → model → facts → engine → results (decision) → renderings.
A policy (:func:`load_policy`) is one or more ruleset documents compiled once; every result
carries the policy it came from.  The public surface is what this module exports.
"""

from .api import BatchError, check_quota, city_report, evaluate, evaluate_many
from .decision import (CityReport, Decision, Explanation, NotMet, Note, Outcome, QuotaError, QuotaFinding,
                       QuotaResult)
from .errors import InputError, InternalError, Problem, RulesetError
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
    Level,
    RecommendationList,
    SkillLevel,
    SkillLevelRecord,
    Title,
    TitleLevel,
    WorkKind,
    WorkPeriod,
)
from .policy import Policy, default_policy, load_policy
from .ruleset import Ruleset, default_ruleset, load_ruleset

__version__ = "0.1.0"

__all__ = [
    "evaluate", "evaluate_many", "check_quota", "city_report", "load_policy", "default_policy", "Policy",
    "QuotaResult", "QuotaFinding", "QuotaError", "CityReport", "BatchError", "Decision", "Outcome",
    "NotMet", "Note", "Explanation", "InputError", "InternalError", "Problem", "RulesetError", "Ruleset",
    "load_ruleset", "default_ruleset", "applicant_from_dict", "applicant_to_dict", "recommendation_list_from_dict",
    "recommendation_list_to_dict", "Applicant", "Certificate", "CertificateKind", "Level", "WorkKind",
    "WorkPeriod", "SkillLevel", "SkillLevelRecord", "Title", "TitleLevel", "Achievement", "Candidate",
    "RecommendationList",
]
