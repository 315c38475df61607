"""One place for configuration.

Every step (generator, dbt runner, training, services) reads its settings from here.
Values come from environment variables prefixed ``MUSIC_RECS_`` and from an optional
``.env`` file in the working directory; the defaults below are the documented ones
(README, "Configuration").

Settings are grouped by concern: the paths ("where things are"), ``scale`` and ``seed``
stay at the top, the rest sits in one sub-model per concern (``settings.s3``,
``settings.dbt``, ``settings.warehouse_vars``, ``settings.als``, ``settings.popularity``,
``settings.ranker``, ``settings.models``, ``settings.services``, ``settings.events``).
Every setting keeps one *flat name*: the environment variable without ``MUSIC_RECS_``, in
lower case (``als_factors`` for ``settings.als.factors``); a group field declares it as its
``validation_alias``. The environment, ``.env`` and keyword arguments all speak flat names
(``Settings(_env_file=None, als_factors=64)``, ``settings.updated(als_factors=64)``);
:meth:`Settings._group_flat_names` moves them into their groups.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, create_model, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

Scale = Literal["tiny", "demo", "full"]
ServiceName = Literal["final", "offline", "events", "online"]

ENV_PREFIX = "MUSIC_RECS_"

# Set while ``Settings.updated`` builds a copy: only its keywords count, no environment.
_ONLY_INIT: ContextVar[bool] = ContextVar("music_recs_settings_only_init", default=False)


class SettingsGroup(BaseModel):
    """One concern of the settings; each field's ``validation_alias`` is its flat name."""

    model_config = ConfigDict(
        extra="forbid", validate_by_name=True, validate_by_alias=True, protected_namespaces=()
    )

    @classmethod
    def flat_names(cls) -> dict[str, str]:
        """Flat name (environment variable without the prefix, lower case) -> field name."""
        return {str(info.validation_alias): name for name, info in cls.model_fields.items()}


class S3Settings(SettingsGroup):
    """S3 / S3-compatible storage."""

    endpoint: str = Field(
        "127.0.0.1:8333", validation_alias="s3_endpoint", description="host:port of the S3 endpoint."
    )
    access_key_id: str = Field(
        "music_recs", validation_alias="s3_access_key_id", description="S3 access key."
    )
    secret_access_key: str = Field(
        "music_recs_secret", validation_alias="s3_secret_access_key", description="S3 secret key."
    )
    region: str = Field("us-east-1", validation_alias="s3_region", description="S3 region.")
    use_ssl: bool = Field(False, validation_alias="s3_use_ssl", description="Use HTTPS for S3.")
    url_style: Literal["path", "vhost"] = Field(
        "path", validation_alias="s3_url_style", description="S3 URL style."
    )
    bucket: str = Field(
        "music-recs", validation_alias="s3_bucket", description="Bucket used by `make upload`."
    )
    prefix: str = Field("raw", validation_alias="s3_prefix", description="Prefix used by `make upload`.")
    data_dir: Path = Field(
        Path("data/s3"), validation_alias="s3_data_dir", description="Local storage of `make s3`."
    )


class DbtSettings(SettingsGroup):
    """How `dbt build` runs."""

    memory_limit: str = Field(
        "12GB", validation_alias="dbt_memory_limit", description="DuckDB memory_limit during `dbt build`."
    )
    threads: int = Field(2, validation_alias="dbt_threads", description="DuckDB threads during `dbt build`.")
    node_threads: int = Field(
        1,
        ge=1,
        validation_alias="dbt_node_threads",
        description="dbt models/tests run at once (each query already uses dbt_threads "
        "DuckDB threads, so more at once only compete for the same cores and memory).",
    )


class WarehouseVars(SettingsGroup):
    """What the warehouse computes: the dbt vars (same names as in dbt_project.yml)."""

    track_seq_quantile: float = Field(
        0.95,
        validation_alias="track_seq_quantile",
        description="Listens with track_seq above this quantile are dropped.",
    )
    split_date: str | None = Field(
        None,
        validation_alias="split_date",
        description="Train/test split date (YYYY-MM-DD); default: max date - test_days.",
    )
    test_days: int = Field(
        14, validation_alias="test_days", description="Length of the test window when split_date is unset."
    )
    label_days: int = Field(
        14, validation_alias="label_days", description="Length of the ranker's label window inside train."
    )
    split_quantile: float | None = Field(
        None,
        gt=0,
        lt=1,
        validation_alias="split_quantile",
        description="Global split by share of listens (e.g. 0.9): split_date = the log date with "
        "about this share of the log's listens on or before it (an explicit split_date still "
        "wins), and label_start = the train date with this share of train listens on or before "
        "it (instead of label_days). None = the split_date / test_days / label_days rule.",
    )
    recency_half_life_days: float = Field(
        14.0,
        validation_alias="recency_half_life_days",
        description="Half-life (days) of track_features.pop_recency's exponential decay.",
    )


class AlsSettings(SettingsGroup):
    """ALS training and its top-k search (models_py/als.py, models_py/ann.py)."""

    factors: int = Field(
        32,
        validation_alias="als_factors",
        description="ALS latent factors (tuned on validation, docs/models.md).",
    )
    iterations: int = Field(
        5,
        validation_alias="als_iterations",
        description="ALS iterations (5 matched 15 on demo and beat it at full: docs/models.md).",
    )
    regularization: float = Field(
        10.0, validation_alias="als_regularization", description="ALS L2 regularization."
    )
    alpha: float = Field(
        3.0, validation_alias="als_alpha", description="ALS confidence scale (see models_py/als.py)."
    )
    recency_half_life_days: float = Field(
        20.0,
        validation_alias="als_recency_half_life_days",
        description="ALS confidence: half-life (days before the split) of a listen's weight.",
    )
    recency_floor: float = Field(
        0.3,
        validation_alias="als_recency_floor",
        description="ALS confidence: weight share an arbitrarily old listen keeps (0..1).",
    )
    score_days: int = Field(
        30,
        validation_alias="als_score_days",
        description="ALS/similar scoring: only tracks heard in the last N train days (0 = all).",
    )
    batch_size: int = Field(
        1024, validation_alias="als_batch_size", description="Users per ALS scoring batch."
    )
    search: Literal["exact", "ann", "auto"] = Field(
        "auto",
        validation_alias="als_search",
        description="ALS/similar top-k search: exact (norm-bounded matmul), faiss IVF (ann), or "
        "auto = exact below als_ann_min_pairs users x scorable tracks, above it exact when the norm "
        "bound settles >= 90% of a probe of users, else ann (docs/models.md).",
    )
    ann_min_pairs: float = Field(
        1e10,
        validation_alias="als_ann_min_pairs",
        description="auto: users x scorable tracks from which the ANN search is used.",
    )
    ann_nlist: int = Field(
        0, validation_alias="als_ann_nlist", description="ANN: IVF lists (0 = 4 * sqrt(scorable tracks))."
    )
    ann_nprobe: int = Field(
        128, validation_alias="als_ann_nprobe", description="ANN: IVF lists scanned per user / track."
    )
    ann_max_extra: int = Field(
        2000,
        validation_alias="als_ann_max_extra",
        description="ANN: heard tracks searched past k at most; short lists fall back to exact.",
    )


class PopularitySettings(SettingsGroup):
    """Popularity lists (models_py/popularity.py)."""

    half_life_days: float | None = Field(
        None,
        validation_alias="popularity_half_life_days",
        description="Popularity recency half-life in days (0 = no decay); unset = pick on validation.",
    )
    valid_users: int = Field(
        100_000,
        validation_alias="popularity_valid_users",
        description="Label users the popularity half-life is validated on (seeded sample; 0 = all).",
    )


class RankerSettings(SettingsGroup):
    """The CatBoost re-ranker and its candidates (models_py/ranker.py, models_py/candidates.py)."""

    iterations: int = Field(300, validation_alias="ranker_iterations", description="CatBoost iterations.")
    pop_candidates: int = Field(
        20,
        validation_alias="ranker_pop_candidates",
        description="Popular tracks added to each user's ranker candidates.",
    )
    recent_candidates: int = Field(
        20,
        validation_alias="ranker_recent_candidates",
        description="Tracks closest to a user's recent taste added to the ranker candidates (0 = none).",
    )
    cluster_candidates: int = Field(
        20,
        ge=0,
        validation_alias="ranker_cluster_candidates",
        description="Best unheard tracks of a user's taste clusters added to the ranker candidates (0 = none).",
    )
    taste_clusters: int = Field(
        64,
        validation_alias="ranker_taste_clusters",
        description="Taste clusters (k-means of the artists' ALS directions) behind the ranker's cluster features.",
    )
    recent_tracks: int = Field(
        10,
        validation_alias="ranker_recent_tracks",
        description="Last tracks of a user that define the recent taste.",
    )
    max_users: int = Field(
        30000,
        validation_alias="ranker_max_users",
        description="Most fit-phase users the ranker trains on (sampled).",
    )
    select_users: int = Field(
        5000,
        validation_alias="ranker_select_users",
        description="Training users both losses are compared on (0 = all); the winner then trains on all.",
    )
    negatives: int = Field(
        20,
        validation_alias="ranker_negatives",
        description="Negatives sampled per training user (0 = all); validation keeps every candidate.",
    )
    min_users: int = Field(
        50,
        ge=4,
        validation_alias="ranker_min_users",
        description="Fit users with a label among their candidates needed to train the re-ranker; "
        "with fewer the build serves the best single list (ALS or popularity) on those users.",
    )
    fallback: bool = Field(
        True,
        validation_alias="ranker_fallback",
        description="Serve the best single list (ALS or popularity) when it beats the re-ranker on "
        "validation or too few label users exist to train one; False = always the re-ranker.",
    )
    kfold_below: int = Field(
        1000,
        validation_alias="ranker_kfold_below",
        description="With fewer validation users than this (label users x ranker_valid_share), "
        "the re-ranker is chosen on out-of-fold scores of every label user (1 / ranker_valid_share folds).",
    )
    depth: int = Field(6, validation_alias="ranker_depth", description="CatBoost tree depth.")
    learning_rate: float = Field(
        0.1, validation_alias="ranker_learning_rate", description="CatBoost learning rate."
    )
    valid_share: float = Field(
        0.2,
        validation_alias="ranker_valid_share",
        description="Share of fit users held out to pick the ranker loss.",
    )
    refit_all: bool = Field(
        True,
        validation_alias="ranker_refit_all",
        description="After validation, refit the kept loss on every label user (validation users too).",
    )


class ModelsSettings(SettingsGroup):
    """What every model step shares: list lengths, threads, memory, caches."""

    n_candidates: int = Field(100, validation_alias="n_candidates", description="ALS candidates per user.")
    n_similar: int = Field(20, validation_alias="n_similar", description="Similar tracks kept per track.")
    n_recs: int = Field(50, validation_alias="n_recs", description="Final recommendations kept per user.")
    n_popular: int = Field(
        100, validation_alias="n_popular", description="Length of the global / per-genre popularity lists."
    )
    train_threads: int = Field(
        2, validation_alias="train_threads", description="Threads for ALS and CatBoost training."
    )
    memory_limit: str = Field(
        "4GB",
        validation_alias="models_memory_limit",
        description="DuckDB memory_limit of the model steps (numpy arrays come on top).",
    )
    oracle_max_users: int = Field(
        4000,
        validation_alias="oracle_max_users",
        description="Test users the evaluation's oracle scores (seeded sample; 0 = all).",
    )
    cache_interactions: bool = Field(
        True,
        validation_alias="models_cache_interactions",
        description="Keep each phase's loaded events matrix in the build's artifacts "
        "(~2 GB a phase at full scale), checked against a fingerprint of the table: the "
        "ranker and evaluate then read it instead of sorting ~170M events in DuckDB again.",
    )


class ServicesSettings(SettingsGroup):
    """Where the services listen and how they behave under load."""

    host: str = Field("127.0.0.1", validation_alias="host", description="Bind address of the services.")
    final_port: int = Field(
        8000, validation_alias="final_port", description="Final (blended) recommendations service."
    )
    offline_port: int = Field(
        8001, validation_alias="offline_port", description="Offline recommendations service."
    )
    events_port: int = Field(8002, validation_alias="events_port", description="Events service.")
    online_port: int = Field(
        8003, validation_alias="online_port", description="Online (similar tracks) service."
    )
    timeout_s: float = Field(
        0.5, validation_alias="service_timeout_s", description="Timeout of calls between services."
    )
    warehouse_check_interval_s: float = Field(
        1.0,
        validation_alias="warehouse_check_interval_s",
        description="How often services check whether the warehouse symlink moved.",
    )
    online_recent_listens: int = Field(
        20,
        validation_alias="online_recent_listens",
        description="Recent listens the online service expands into similar tracks.",
    )
    serving_memory_rows: int = Field(
        20_000_000,
        validation_alias="serving_memory_rows",
        description="Per-user serving tables (recs_final, events) up to this many rows are "
        "loaded into memory by the services (~16 bytes a row); larger ones are queried in DuckDB.",
    )
    max_concurrency: int = Field(
        128,
        validation_alias="service_max_concurrency",
        description="Connections + requests one service handles at once; beyond it answers 503 "
        "at once (load shedding: callers degrade instead of queueing for seconds).",
    )
    max_body_bytes: int = Field(
        64 * 1024,
        ge=0,
        validation_alias="service_max_body_bytes",
        description="Largest request body a service accepts; larger ones get a JSON 413.",
    )
    access_log: bool = Field(
        True,
        validation_alias="service_access_log",
        description="One JSON line per request (method, path, route, status, duration_ms, "
        "request_id) in logs/service-<name>.jsonl (not on the console).",
    )
    warning_interval_s: float = Field(
        30.0,
        gt=0,
        validation_alias="service_warning_interval_s",
        description="At most one warning per failing dependency per this many "
        "seconds; the next one says how many were suppressed.",
    )

    def port(self, service: ServiceName) -> int:
        return {
            "final": self.final_port,
            "offline": self.offline_port,
            "events": self.events_port,
            "online": self.online_port,
        }[service]


class EventsSettings(SettingsGroup):
    """API keys of the events service (services/security.py)."""

    api_keys: SecretStr = Field(
        SecretStr(""),
        validation_alias="events_api_keys",
        description="Comma-separated API keys accepted (header X-API-Key) by the "
        "events routes that write listens or read a user's history. Empty: the events service "
        "uses the key in events_api_key_file, generating a random one there on first start.",
    )
    api_key: SecretStr = Field(
        SecretStr(""),
        validation_alias="events_api_key",
        description="Key final/offline/online send to events. Empty: the first of "
        "events_api_keys, else the one in events_api_key_file.",
    )
    api_key_file: Path | None = Field(
        None,
        validation_alias="events_api_key_file",
        description="Where the generated events key is kept (mode 0600) when no key is "
        "configured; default: api_key next to events_db.",
    )


class Settings(BaseSettings):
    """All tunables of the project, with their defaults, grouped by concern."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", protected_namespaces=()
    )

    # --- paths -------------------------------------------------------------------------
    data_dir: Path = Field(Path("data"), description="Root for generated data, events, exports.")
    raw_uri: str = Field(
        "data/raw",
        description="Where the three raw parquet files live: a local folder or s3://bucket/prefix.",
    )
    warehouse_path: Path = Field(
        Path("warehouse/music_recs.duckdb"),
        description="The served warehouse: a symlink swapped atomically to the newest build.",
    )
    artifacts_dir: Path = Field(
        Path("warehouse/artifacts"), description="Model artifacts (ALS factors, CatBoost model)."
    )
    reports_dir: Path = Field(Path("reports"), description="Evaluation report and plots.")
    logs_dir: Path = Field(Path("logs"), description="JSON-lines logs of every step.")
    events_db: Path = Field(
        Path("data/events/events.sqlite3"), description="SQLite file owned by the events service."
    )
    online_events_path: Path = Field(
        Path("data/online_events.parquet"),
        description="Snapshot of online events exported for the next dbt build.",
    )
    export_uri: str = Field("data/export", description="Where recommendation tables are exported as parquet.")
    keep_builds: int = Field(2, description="How many old warehouse builds to keep on disk.")

    # --- data generator ----------------------------------------------------------------
    scale: Scale = Field("demo", description="Generator preset: tiny, demo or full.")
    seed: int = Field(42, description="Seed for the generator and every model.")

    # --- concerns (flat names: see SettingsGroup) ----------------------------------------
    s3: S3Settings = Field(default_factory=S3Settings)
    dbt: DbtSettings = Field(default_factory=DbtSettings)
    warehouse_vars: WarehouseVars = Field(default_factory=WarehouseVars)
    als: AlsSettings = Field(default_factory=AlsSettings)
    popularity: PopularitySettings = Field(default_factory=PopularitySettings)
    ranker: RankerSettings = Field(default_factory=RankerSettings)
    models: ModelsSettings = Field(default_factory=ModelsSettings)
    services: ServicesSettings = Field(default_factory=ServicesSettings)
    events: EventsSettings = Field(default_factory=EventsSettings)

    GROUPS: ClassVar[tuple[str, ...]] = (
        "s3",
        "dbt",
        "warehouse_vars",
        "als",
        "popularity",
        "ranker",
        "models",
        "services",
        "events",
    )

    @classmethod
    def flat_names(cls) -> dict[str, tuple[str | None, str]]:
        """Every flat name -> (group or None for a top-level field, field name)."""
        names: dict[str, tuple[str | None, str]] = {
            name: (None, name) for name in cls.model_fields if name not in cls.GROUPS
        }
        for group in cls.GROUPS:
            model: type[SettingsGroup] = cls.model_fields[group].annotation  # type: ignore[assignment]
            for flat, field in model.flat_names().items():
                names[flat] = (group, field)
        return names

    @model_validator(mode="before")
    @classmethod
    def _group_flat_names(cls, data: Any) -> Any:
        """Move flat names (from the environment, .env or keywords) into their groups.

        A value already given inside its group (``updated`` passes groups) wins over the
        flat name: the environment is read as flat names and must not override it.
        """
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for flat, (group, field) in _FLAT_NAMES.items():
            if group is None or flat not in data:
                continue
            value = data.pop(flat)
            nested = data.get(group)
            if isinstance(nested, BaseModel):
                nested = {name: getattr(nested, name) for name in nested.model_fields_set}
            nested = dict(nested or {})
            nested.setdefault(field, value)
            data[group] = nested
        return data

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The environment and .env read the flat names (``MUSIC_RECS_ALS_FACTORS``)."""
        if _ONLY_INIT.get():
            return (init_settings,)
        assert isinstance(dotenv_settings, DotEnvSettingsSource)
        return (
            init_settings,
            EnvSettingsSource(_FlatEnv),
            DotEnvSettingsSource(
                _FlatEnv,
                env_file=dotenv_settings.env_file,
                env_file_encoding=dotenv_settings.env_file_encoding,
            ),
            file_secret_settings,
        )

    def value_of(self, flat: str) -> Any:
        """The value of one setting by its flat name (``value_of("als_factors")``)."""
        group, field = _FLAT_NAMES[flat]
        return getattr(self if group is None else getattr(self, group), field)

    def as_flat(self) -> dict[str, Any]:
        """Every setting by its flat name (what ``MUSIC_RECS_<NAME>`` would set)."""
        return {flat: self.value_of(flat) for flat in _FLAT_NAMES}

    def updated(self, **changes: Any) -> Settings:
        """A validated copy with some settings changed, by flat name (``updated(als_factors=8)``).

        Like ``model_copy`` it reads neither the environment nor .env again; what was set
        explicitly stays so (``model_fields_set`` of the copy and of its groups).
        """
        unknown = set(changes) - set(_FLAT_NAMES)
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        data: dict[str, Any] = {
            name: getattr(self, name) for name in self.model_fields_set if name not in self.GROUPS
        }
        for group in self.GROUPS:
            model = getattr(self, group)
            data[group] = {name: getattr(model, name) for name in model.model_fields_set}
        for flat, value in changes.items():
            group, field = _FLAT_NAMES[flat]
            if group is None:
                data[field] = value
            else:
                data[group][field] = value
        token = _ONLY_INIT.set(True)
        try:
            return type(self)(**data)
        finally:
            _ONLY_INIT.reset(token)

    @property
    def raw_is_s3(self) -> bool:
        return self.raw_uri.startswith("s3://")

    def raw_file(self, name: str) -> str:
        """Location of one raw file (``tracks``, ``catalog_names``, ``interactions``)."""
        return f"{self.raw_uri.rstrip('/')}/{name}.parquet"

    def url(self, service: ServiceName) -> str:
        return f"http://{self.services.host}:{self.services.port(service)}"


_FLAT_NAMES = Settings.flat_names()


def _flat_env_field(flat: str) -> tuple[Any, Any]:
    group, field = _FLAT_NAMES[flat]
    owner = Settings if group is None else Settings.model_fields[group].annotation
    return owner.model_fields[field].annotation, None  # type: ignore[union-attr]


class _FlatEnvBase(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", protected_namespaces=()
    )


# What the environment and .env are read as: one field per flat name, never validated itself
# (the raw values go to Settings, whose validator moves them into their groups).
_FlatEnv = create_model(  # type: ignore[call-overload]
    "_FlatEnv", __base__=_FlatEnvBase, **{flat: _flat_env_field(flat) for flat in _FLAT_NAMES}
)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process (cached: the environment is read once)."""
    return Settings()
