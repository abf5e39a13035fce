"""PAR index sets (Bộ Chỉ số CCHC) as data: models, the YAML loader and the scoring rules.

Format: ``docs/index-sets.md``. Load with ``load_index_set`` (or ``check_index_set`` to get
the problems instead of an exception); score a sub-criterion with ``score_sub_criterion``.
"""

from cchc.indexset.loader import check_index_set, check_index_set_text, load_index_set
from cchc.indexset.models import (
    ADJUSTMENT_TYPES,
    RULE_MODELS,
    Area,
    BinaryRule,
    BonusRule,
    Criterion,
    DeductionRule,
    IndexSet,
    InputKind,
    Level,
    Measure,
    NoData,
    PenaltyRule,
    QualitativeRule,
    RatioThresholdRule,
    Rule,
    SubCriterion,
    SurveyRule,
    Tier,
    TiersRule,
    input_kind,
    input_name,
)
from cchc.indexset.rules import (
    RuleInputs,
    RuleResult,
    report,
    score,
    score_sub_criterion,
)

__all__ = [
    "ADJUSTMENT_TYPES",
    "RULE_MODELS",
    "Area",
    "BinaryRule",
    "BonusRule",
    "Criterion",
    "DeductionRule",
    "IndexSet",
    "InputKind",
    "Level",
    "Measure",
    "NoData",
    "PenaltyRule",
    "QualitativeRule",
    "RatioThresholdRule",
    "Rule",
    "RuleInputs",
    "RuleResult",
    "SubCriterion",
    "SurveyRule",
    "Tier",
    "TiersRule",
    "check_index_set",
    "check_index_set_text",
    "input_kind",
    "input_name",
    "load_index_set",
    "report",
    "score",
    "score_sub_criterion",
]
