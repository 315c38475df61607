"""One place for configuration.

Every step (generator, dbt runner, training, services) reads its settings from here.
Values come from environment variables prefixed ``MUSIC_RECS_`` and from an optional
``.env`` file in the working directory; the defaults below are the documented ones
(README, "Configuration").
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

Scale = Literal["tiny", "demo", "full"]


class Settings(BaseSettings):
    """All tunables of the project, with their defaults."""

    model_config = SettingsConfigDict(
        env_prefix="MUSIC_RECS_", env_file=".env", extra="ignore", protected_namespaces=()
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
    export_uri: str = Field(
        "data/export", description="Where recommendation tables are exported as parquet."
    )
    keep_builds: int = Field(2, description="How many old warehouse builds to keep on disk.")

    # --- data generator ----------------------------------------------------------------
    scale: Scale = Field("demo", description="Generator preset: tiny, demo or full.")
    seed: int = Field(42, description="Seed for the generator and every model.")

    # --- S3 / S3-compatible storage ----------------------------------------------------
    s3_endpoint: str = Field("127.0.0.1:8333", description="host:port of the S3 endpoint.")
    s3_access_key_id: str = Field("music_recs", description="S3 access key.")
    s3_secret_access_key: str = Field("music_recs_secret", description="S3 secret key.")
    s3_region: str = Field("us-east-1", description="S3 region.")
    s3_use_ssl: bool = Field(False, description="Use HTTPS for S3.")
    s3_url_style: Literal["path", "vhost"] = Field("path", description="S3 URL style.")
    s3_bucket: str = Field("music-recs", description="Bucket used by `make upload`.")
    s3_prefix: str = Field("raw", description="Prefix used by `make upload`.")
    s3_data_dir: Path = Field(Path("data/s3"), description="Local storage of `make s3`.")

    # --- warehouse (dbt vars) ----------------------------------------------------------
    track_seq_quantile: float = Field(
        0.95, description="Listens with track_seq above this quantile are dropped."
    )
    split_date: str | None = Field(
        None, description="Train/test split date (YYYY-MM-DD); default: max date - test_days."
    )
    test_days: int = Field(14, description="Length of the test window when split_date is unset.")
    label_days: int = Field(14, description="Length of the ranker's label window inside train.")
    split_quantile: float | None = Field(
        None, gt=0, lt=1,
        description="Global split by share of listens (e.g. 0.9): split_date = the log date with "
        "about this share of the log's listens on or before it (an explicit split_date still "
        "wins), and label_start = the train date with this share of train listens on or before "
        "it (instead of label_days). None = the split_date / test_days / label_days rule.",
    )
    recency_half_life_days: float = Field(
        14.0, description="Half-life (days) of track_features.pop_recency's exponential decay."
    )
    dbt_memory_limit: str = Field("12GB", description="DuckDB memory_limit during `dbt build`.")
    dbt_threads: int = Field(2, description="DuckDB threads during `dbt build`.")
    dbt_node_threads: int = Field(
        1, ge=1, description="dbt models/tests run at once (each query already uses dbt_threads "
        "DuckDB threads; 2 at once made the full build 1.8x slower, BENCHMARKS.md).",
    )

    # --- models ------------------------------------------------------------------------
    als_factors: int = Field(32, description="ALS latent factors (tuned on validation, docs/models.md).")
    als_iterations: int = Field(
        5, description="ALS iterations (5 matched 15 on demo and beat it at full: docs/models.md)."
    )
    als_regularization: float = Field(10.0, description="ALS L2 regularization.")
    als_alpha: float = Field(3.0, description="ALS confidence scale (see models_py/als.py).")
    n_candidates: int = Field(100, description="ALS candidates per user.")
    n_similar: int = Field(20, description="Similar tracks kept per track.")
    n_recs: int = Field(50, description="Final recommendations kept per user.")
    n_popular: int = Field(100, description="Length of the global / per-genre popularity lists.")
    ranker_iterations: int = Field(300, description="CatBoost iterations.")
    als_recency_half_life_days: float = Field(
        20.0, description="ALS confidence: half-life (days before the split) of a listen's weight."
    )
    als_recency_floor: float = Field(
        0.3, description="ALS confidence: weight share an arbitrarily old listen keeps (0..1)."
    )
    als_score_days: int = Field(
        30, description="ALS/similar scoring: only tracks heard in the last N train days (0 = all)."
    )
    als_batch_size: int = Field(1024, description="Users per ALS scoring batch.")
    als_search: Literal["exact", "ann", "auto"] = Field(
        "auto", description="ALS/similar top-k search: exact (norm-bounded matmul), faiss IVF (ann), or "
        "auto = exact below als_ann_min_pairs users x scorable tracks, above it exact when the norm "
        "bound settles >= 90% of a probe of users, else ann (docs/models.md)."
    )
    als_ann_min_pairs: float = Field(
        1e10, description="auto: users x scorable tracks from which the ANN search is used."
    )
    als_ann_nlist: int = Field(0, description="ANN: IVF lists (0 = 4 * sqrt(scorable tracks)).")
    als_ann_nprobe: int = Field(128, description="ANN: IVF lists scanned per user / track.")
    als_ann_max_extra: int = Field(
        2000, description="ANN: heard tracks searched past k at most; short lists fall back to exact."
    )
    popularity_half_life_days: float | None = Field(
        None, description="Popularity recency half-life in days (0 = no decay); unset = pick on validation."
    )
    popularity_valid_users: int = Field(
        100_000, description="Label users the popularity half-life is validated on (seeded sample; 0 = all)."
    )
    ranker_pop_candidates: int = Field(20, description="Popular tracks added to each user's ranker candidates.")
    ranker_recent_candidates: int = Field(
        20, description="Tracks closest to a user's recent taste added to the ranker candidates (0 = none)."
    )
    ranker_cluster_candidates: int = Field(
        20, ge=0, description="Best unheard tracks of a user's taste clusters added to the ranker candidates (0 = none)."
    )
    ranker_taste_clusters: int = Field(
        64, description="Taste clusters (k-means of the artists' ALS directions) behind the ranker's cluster features."
    )
    ranker_recent_tracks: int = Field(10, description="Last tracks of a user that define the recent taste.")
    ranker_max_users: int = Field(30000, description="Most fit-phase users the ranker trains on (sampled).")
    ranker_select_users: int = Field(
        5000, description="Training users both losses are compared on (0 = all); the winner then trains on all."
    )
    ranker_negatives: int = Field(
        20, description="Negatives sampled per training user (0 = all); validation keeps every candidate."
    )
    ranker_min_users: int = Field(
        50, ge=4, description="Fit users with a label among their candidates needed to train the re-ranker; "
        "with fewer the build serves the best single list (ALS or popularity) on those users.",
    )
    ranker_fallback: bool = Field(
        True, description="Serve the best single list (ALS or popularity) when it beats the re-ranker on "
        "validation or too few label users exist to train one; False = always the re-ranker.",
    )
    ranker_kfold_below: int = Field(
        1000, description="With fewer validation users than this (label users x ranker_valid_share), "
        "the re-ranker is chosen on out-of-fold scores of every label user (1 / ranker_valid_share folds).",
    )
    ranker_depth: int = Field(6, description="CatBoost tree depth.")
    ranker_learning_rate: float = Field(0.1, description="CatBoost learning rate.")
    ranker_valid_share: float = Field(0.2, description="Share of fit users held out to pick the ranker loss.")
    ranker_refit_all: bool = Field(
        True, description="After validation, refit the kept loss on every label user (validation users too)."
    )
    train_threads: int = Field(2, description="Threads for ALS and CatBoost training.")
    models_memory_limit: str = Field(
        "4GB", description="DuckDB memory_limit of the model steps (numpy arrays come on top).",
    )
    oracle_max_users: int = Field(
        4000, description="Test users the evaluation's oracle scores (seeded sample; 0 = all)."
    )
    models_cache_interactions: bool = Field(
        True, description="Keep each phase's loaded events matrix in the build's artifacts "
        "(~2 GB a phase at full scale), checked against a fingerprint of the table: the "
        "ranker and evaluate then read it instead of sorting ~170M events in DuckDB again.",
    )

    # --- services ----------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Bind address of the services.")
    final_port: int = Field(8000, description="Final (blended) recommendations service.")
    offline_port: int = Field(8001, description="Offline recommendations service.")
    events_port: int = Field(8002, description="Events service.")
    online_port: int = Field(8003, description="Online (similar tracks) service.")
    service_timeout_s: float = Field(0.5, description="Timeout of calls between services.")
    warehouse_check_interval_s: float = Field(
        1.0, description="How often services check whether the warehouse symlink moved."
    )
    online_recent_listens: int = Field(
        20, description="Recent listens the online service expands into similar tracks."
    )
    serving_memory_rows: int = Field(
        20_000_000,
        description="Per-user serving tables (recs_final, events) up to this many rows are "
        "loaded into memory by the services (~16 bytes a row); larger ones are queried in DuckDB.",
    )
    service_max_concurrency: int = Field(
        128,
        description="Connections + requests one service handles at once; beyond it answers 503 "
        "at once (load shedding: callers degrade instead of queueing for seconds).",
    )
    service_max_body_bytes: int = Field(
        64 * 1024, ge=0,
        description="Largest request body a service accepts; larger ones get a JSON 413.",
    )
    service_access_log: bool = Field(
        True, description="One JSON line per request (method, path, route, status, duration_ms, "
        "request_id) in logs/service-<name>.jsonl (not on the console).",
    )
    service_warning_interval_s: float = Field(
        30.0, gt=0, description="At most one warning per failing dependency per this many "
        "seconds; the next one says how many were suppressed.",
    )
    events_api_keys: SecretStr = Field(
        SecretStr(""), description="Comma-separated API keys accepted (header X-API-Key) by the "
        "events routes that write listens or read a user's history. Empty: the events service "
        "uses the key in events_api_key_file, generating a random one there on first start.",
    )
    events_api_key: SecretStr = Field(
        SecretStr(""), description="Key final/offline/online send to events. Empty: the first of "
        "events_api_keys, else the one in events_api_key_file.",
    )
    events_api_key_file: Path | None = Field(
        None, description="Where the generated events key is kept (mode 0600) when no key is "
        "configured; default: api_key next to events_db.",
    )

    @property
    def raw_is_s3(self) -> bool:
        return self.raw_uri.startswith("s3://")

    def raw_file(self, name: str) -> str:
        """Location of one raw file (``tracks``, ``catalog_names``, ``interactions``)."""
        return f"{self.raw_uri.rstrip('/')}/{name}.parquet"

    def url(self, service: Literal["final", "offline", "events", "online"]) -> str:
        port = getattr(self, f"{service}_port")
        return f"http://{self.host}:{port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process (cached: the environment is read once)."""
    return Settings()
