"""Settings by concern: every environment variable of the flat settings still sets the same
setting, now read through its group (``MUSIC_RECS_ALS_FACTORS`` -> ``settings.als.factors``)."""

from __future__ import annotations

import json
import operator
from pathlib import Path

import duckdb
import pytest
from pydantic import SecretStr, ValidationError

from music_recs.config import AlsSettings, Settings

#: Every environment variable the flat ``Settings`` read (85), where its value is read now,
#: a valid non-default value and what it parses to.
ENV_NAMES = [
    ("MUSIC_RECS_ALS_ALPHA", "als.alpha", "3.5", 3.5),
    ("MUSIC_RECS_ALS_ANN_MAX_EXTRA", "als.ann_max_extra", "4001", 4001),
    ("MUSIC_RECS_ALS_ANN_MIN_PAIRS", "als.ann_min_pairs", "10000000000.5", 10000000000.5),
    ("MUSIC_RECS_ALS_ANN_NLIST", "als.ann_nlist", "3", 3),
    ("MUSIC_RECS_ALS_ANN_NPROBE", "als.ann_nprobe", "257", 257),
    ("MUSIC_RECS_ALS_BATCH_SIZE", "als.batch_size", "2049", 2049),
    ("MUSIC_RECS_ALS_FACTORS", "als.factors", "65", 65),
    ("MUSIC_RECS_ALS_ITERATIONS", "als.iterations", "11", 11),
    ("MUSIC_RECS_ALS_RECENCY_FLOOR", "als.recency_floor", "0.4", 0.4),
    ("MUSIC_RECS_ALS_RECENCY_HALF_LIFE_DAYS", "als.recency_half_life_days", "20.5", 20.5),
    ("MUSIC_RECS_ALS_REGULARIZATION", "als.regularization", "10.5", 10.5),
    ("MUSIC_RECS_ALS_SCORE_DAYS", "als.score_days", "61", 61),
    ("MUSIC_RECS_ALS_SEARCH", "als.search", "ann", "ann"),
    ("MUSIC_RECS_ARTIFACTS_DIR", "artifacts_dir", "/tmp/x/artifacts_dir", Path("/tmp/x/artifacts_dir")),
    ("MUSIC_RECS_DATA_DIR", "data_dir", "/tmp/x/data_dir", Path("/tmp/x/data_dir")),
    ("MUSIC_RECS_DBT_MEMORY_LIMIT", "dbt.memory_limit", "3GB", "3GB"),
    ("MUSIC_RECS_DBT_NODE_THREADS", "dbt.node_threads", "3", 3),
    ("MUSIC_RECS_DBT_THREADS", "dbt.threads", "5", 5),
    (
        "MUSIC_RECS_EVENTS_API_KEY",
        "events.api_key",
        "secret-events_api_key",
        SecretStr("secret-events_api_key"),
    ),
    (
        "MUSIC_RECS_EVENTS_API_KEYS",
        "events.api_keys",
        "secret-events_api_keys",
        SecretStr("secret-events_api_keys"),
    ),
    (
        "MUSIC_RECS_EVENTS_API_KEY_FILE",
        "events.api_key_file",
        "/tmp/x/events_api_key_file",
        Path("/tmp/x/events_api_key_file"),
    ),
    ("MUSIC_RECS_EVENTS_DB", "events_db", "/tmp/x/events_db", Path("/tmp/x/events_db")),
    ("MUSIC_RECS_EVENTS_PORT", "services.events_port", "16005", 16005),
    ("MUSIC_RECS_EXPORT_URI", "export_uri", "x-export_uri", "x-export_uri"),
    ("MUSIC_RECS_FINAL_PORT", "services.final_port", "16001", 16001),
    ("MUSIC_RECS_HOST", "services.host", "0.0.0.0", "0.0.0.0"),
    ("MUSIC_RECS_KEEP_BUILDS", "keep_builds", "5", 5),
    ("MUSIC_RECS_LABEL_DAYS", "warehouse_vars.label_days", "29", 29),
    ("MUSIC_RECS_LOGS_DIR", "logs_dir", "/tmp/x/logs_dir", Path("/tmp/x/logs_dir")),
    ("MUSIC_RECS_MODELS_CACHE_INTERACTIONS", "models.cache_interactions", "false", False),
    ("MUSIC_RECS_MODELS_MEMORY_LIMIT", "models.memory_limit", "2GB", "2GB"),
    ("MUSIC_RECS_N_CANDIDATES", "models.n_candidates", "201", 201),
    ("MUSIC_RECS_N_POPULAR", "models.n_popular", "201", 201),
    ("MUSIC_RECS_N_RECS", "models.n_recs", "101", 101),
    ("MUSIC_RECS_N_SIMILAR", "models.n_similar", "41", 41),
    ("MUSIC_RECS_OFFLINE_PORT", "services.offline_port", "16003", 16003),
    (
        "MUSIC_RECS_ONLINE_EVENTS_PATH",
        "online_events_path",
        "/tmp/x/online_events_path",
        Path("/tmp/x/online_events_path"),
    ),
    ("MUSIC_RECS_ONLINE_PORT", "services.online_port", "16007", 16007),
    ("MUSIC_RECS_ONLINE_RECENT_LISTENS", "services.online_recent_listens", "41", 41),
    ("MUSIC_RECS_ORACLE_MAX_USERS", "models.oracle_max_users", "8001", 8001),
    ("MUSIC_RECS_POPULARITY_HALF_LIFE_DAYS", "popularity.half_life_days", "7.5", 7.5),
    ("MUSIC_RECS_POPULARITY_VALID_USERS", "popularity.valid_users", "200001", 200001),
    ("MUSIC_RECS_RANKER_CLUSTER_CANDIDATES", "ranker.cluster_candidates", "41", 41),
    ("MUSIC_RECS_RANKER_DEPTH", "ranker.depth", "13", 13),
    ("MUSIC_RECS_RANKER_FALLBACK", "ranker.fallback", "false", False),
    ("MUSIC_RECS_RANKER_ITERATIONS", "ranker.iterations", "601", 601),
    ("MUSIC_RECS_RANKER_KFOLD_BELOW", "ranker.kfold_below", "2001", 2001),
    ("MUSIC_RECS_RANKER_LEARNING_RATE", "ranker.learning_rate", "0.05", 0.05),
    ("MUSIC_RECS_RANKER_MAX_USERS", "ranker.max_users", "60001", 60001),
    ("MUSIC_RECS_RANKER_MIN_USERS", "ranker.min_users", "101", 101),
    ("MUSIC_RECS_RANKER_NEGATIVES", "ranker.negatives", "41", 41),
    ("MUSIC_RECS_RANKER_POP_CANDIDATES", "ranker.pop_candidates", "41", 41),
    ("MUSIC_RECS_RANKER_RECENT_CANDIDATES", "ranker.recent_candidates", "41", 41),
    ("MUSIC_RECS_RANKER_RECENT_TRACKS", "ranker.recent_tracks", "21", 21),
    ("MUSIC_RECS_RANKER_REFIT_ALL", "ranker.refit_all", "false", False),
    ("MUSIC_RECS_RANKER_SELECT_USERS", "ranker.select_users", "10001", 10001),
    ("MUSIC_RECS_RANKER_TASTE_CLUSTERS", "ranker.taste_clusters", "129", 129),
    ("MUSIC_RECS_RANKER_VALID_SHARE", "ranker.valid_share", "0.25", 0.25),
    ("MUSIC_RECS_RAW_URI", "raw_uri", "s3://bucket/raw", "s3://bucket/raw"),
    ("MUSIC_RECS_RECENCY_HALF_LIFE_DAYS", "warehouse_vars.recency_half_life_days", "14.5", 14.5),
    ("MUSIC_RECS_REPORTS_DIR", "reports_dir", "/tmp/x/reports_dir", Path("/tmp/x/reports_dir")),
    ("MUSIC_RECS_S3_ACCESS_KEY_ID", "s3.access_key_id", "x-s3_access_key_id", "x-s3_access_key_id"),
    ("MUSIC_RECS_S3_BUCKET", "s3.bucket", "x-s3_bucket", "x-s3_bucket"),
    ("MUSIC_RECS_S3_DATA_DIR", "s3.data_dir", "/tmp/x/s3_data_dir", Path("/tmp/x/s3_data_dir")),
    ("MUSIC_RECS_S3_ENDPOINT", "s3.endpoint", "127.0.0.1:9999", "127.0.0.1:9999"),
    ("MUSIC_RECS_S3_PREFIX", "s3.prefix", "x-s3_prefix", "x-s3_prefix"),
    ("MUSIC_RECS_S3_REGION", "s3.region", "x-s3_region", "x-s3_region"),
    (
        "MUSIC_RECS_S3_SECRET_ACCESS_KEY",
        "s3.secret_access_key",
        "x-s3_secret_access_key",
        "x-s3_secret_access_key",
    ),
    ("MUSIC_RECS_S3_URL_STYLE", "s3.url_style", "vhost", "vhost"),
    ("MUSIC_RECS_S3_USE_SSL", "s3.use_ssl", "true", True),
    ("MUSIC_RECS_SCALE", "scale", "full", "full"),
    ("MUSIC_RECS_SEED", "seed", "85", 85),
    ("MUSIC_RECS_SERVICE_ACCESS_LOG", "services.access_log", "false", False),
    ("MUSIC_RECS_SERVICE_MAX_BODY_BYTES", "services.max_body_bytes", "131073", 131073),
    ("MUSIC_RECS_SERVICE_MAX_CONCURRENCY", "services.max_concurrency", "257", 257),
    ("MUSIC_RECS_SERVICE_TIMEOUT_S", "services.timeout_s", "0.55", 0.55),
    ("MUSIC_RECS_SERVICE_WARNING_INTERVAL_S", "services.warning_interval_s", "30.5", 30.5),
    ("MUSIC_RECS_SERVING_MEMORY_ROWS", "services.serving_memory_rows", "40000001", 40000001),
    ("MUSIC_RECS_SPLIT_DATE", "warehouse_vars.split_date", "2022-12-16", "2022-12-16"),
    ("MUSIC_RECS_SPLIT_QUANTILE", "warehouse_vars.split_quantile", "0.8", 0.8),
    ("MUSIC_RECS_TEST_DAYS", "warehouse_vars.test_days", "29", 29),
    ("MUSIC_RECS_TRACK_SEQ_QUANTILE", "warehouse_vars.track_seq_quantile", "0.9", 0.9),
    ("MUSIC_RECS_TRAIN_THREADS", "models.train_threads", "5", 5),
    ("MUSIC_RECS_WAREHOUSE_CHECK_INTERVAL_S", "services.warehouse_check_interval_s", "0.95", 0.95),
    ("MUSIC_RECS_WAREHOUSE_PATH", "warehouse_path", "/tmp/x/warehouse_path", Path("/tmp/x/warehouse_path")),
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No MUSIC_RECS_ variable and no .env from the caller's environment."""
    import os

    for name in list(os.environ):
        if name.startswith("MUSIC_RECS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def read(settings: Settings, path: str) -> object:
    return operator.attrgetter(path)(settings)


def test_every_name_is_listed_once_and_no_other_exists() -> None:
    assert len(ENV_NAMES) == 85 == len({env for env, *_ in ENV_NAMES})
    assert {env[len("MUSIC_RECS_") :].lower() for env, *_ in ENV_NAMES} == set(Settings.flat_names())


@pytest.mark.parametrize("env, path, raw, expected", ENV_NAMES, ids=[e[0] for e in ENV_NAMES])
def test_each_environment_variable_sets_its_setting(
    monkeypatch: pytest.MonkeyPatch, env: str, path: str, raw: str, expected: object
) -> None:
    default = read(Settings(_env_file=None), path)
    assert default != expected, "the test value must differ from the default"
    monkeypatch.setenv(env, raw)
    settings = Settings(_env_file=None)
    assert read(settings, path) == expected
    flat = env[len("MUSIC_RECS_") :].lower()
    assert settings.value_of(flat) == expected
    # the flat name is also the keyword (tests, ``updated``), and nothing else moved
    monkeypatch.delenv(env)
    assert read(Settings(_env_file=None, **{flat: raw}), path) == expected
    assert read(Settings(_env_file=None).updated(**{flat: raw}), path) == expected
    others = [p for _, p, _, _ in ENV_NAMES if p != path]
    assert [read(settings, p) for p in others] == [read(Settings(_env_file=None), p) for p in others]


def test_unknown_variables_are_ignored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MUSIC_RECS_NOT_A_SETTING", "1")
    monkeypatch.setenv("MUSIC_RECS_ALS", '{"factors": 7}')  # a group's name is no variable
    monkeypatch.setenv("MUSIC_RECS_ALS__FACTORS", "7")
    (tmp_path / ".env").write_text("MUSIC_RECS_ALSO_UNKNOWN=2\n")
    settings = Settings()
    assert settings.als.factors == AlsSettings().factors == 32


def test_dotenv_is_read_and_the_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "MUSIC_RECS_RANKER_DEPTH=3\nMUSIC_RECS_N_RECS=7\n"
        "MUSIC_RECS_EVENTS_API_KEYS=k1,k2\nMUSIC_RECS_SCALE=tiny\n"
    )
    monkeypatch.setenv("MUSIC_RECS_N_RECS", "9")
    settings = Settings()
    assert (settings.ranker.depth, settings.models.n_recs, settings.scale) == (3, 9, "tiny")
    assert settings.events.api_keys.get_secret_value() == "k1,k2"
    assert Settings(_env_file=None).ranker.depth == 6
    assert Settings(n_recs=11).models.n_recs == 11  # keywords win over both


def test_validation_and_secrets_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    for env, raw in [
        ("MUSIC_RECS_RANKER_MIN_USERS", "3"),
        ("MUSIC_RECS_SPLIT_QUANTILE", "1"),
        ("MUSIC_RECS_DBT_NODE_THREADS", "0"),
        ("MUSIC_RECS_SERVICE_WARNING_INTERVAL_S", "0"),
        ("MUSIC_RECS_ALS_SEARCH", "fast"),
        ("MUSIC_RECS_ALS_FACTORS", "many"),
    ]:
        monkeypatch.setenv(env, raw)
        with pytest.raises(ValidationError):
            Settings(_env_file=None)
        monkeypatch.delenv(env)
    with pytest.raises(ValidationError):
        Settings(_env_file=None, ranker_cluster_candidates=-1)
    with pytest.raises(ValidationError):
        AlsSettings(factor=3)  # a group rejects unknown fields
    monkeypatch.setenv("MUSIC_RECS_EVENTS_API_KEY", "top-secret")
    settings = Settings(_env_file=None)
    assert isinstance(settings.events.api_key, SecretStr)
    assert "top-secret" not in repr(settings) and "top-secret" not in settings.model_dump_json()
    descriptions = {name: info.description for name, info in AlsSettings.model_fields.items()}
    assert all(descriptions.values())


def test_updated_validates_rejects_unknown_names_and_reads_no_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    base = Settings(_env_file=None, split_date="2022-12-16", als_factors=8)
    monkeypatch.setenv("MUSIC_RECS_ALS_ITERATIONS", "99")
    (tmp_path / ".env").write_text("MUSIC_RECS_RANKER_DEPTH=3\n")
    copy = base.updated(ranker_negatives=5, raw_uri="elsewhere")
    assert (copy.ranker.negatives, copy.raw_uri, copy.als.factors) == (5, "elsewhere", 8)
    assert (copy.als.iterations, copy.ranker.depth) == (5, 6)  # neither the environment nor .env
    assert copy.warehouse_vars.model_fields_set == {"split_date"}  # pipeline.real_settings checks it
    assert Settings(_env_file=None).warehouse_vars.model_fields_set == set()
    with pytest.raises(ValueError, match="als_factor"):
        base.updated(als_factor=3)
    with pytest.raises(ValidationError):
        base.updated(ranker_min_users=1)
    assert base.als.factors == 8 and base.ranker.negatives == 20


def test_build_info_keeps_the_s3_keys_out(tmp_path: Path) -> None:
    from orchestration.pipeline import write_build_info

    settings = Settings(
        _env_file=None, s3_access_key_id="the-key-id", s3_secret_access_key="the-secret", als_factors=48
    )
    db = tmp_path / "build.duckdb"
    write_build_info(db, settings, {"interactions": 1})
    con = duckdb.connect(str(db))
    value = con.execute("SELECT value FROM build_info WHERE key = 'settings'").fetchone()[0]
    con.close()
    assert "the-key-id" not in value and "the-secret" not in value
    dumped = json.loads(value)
    assert dumped["als"]["factors"] == 48 and dumped["s3"]["endpoint"] == settings.s3.endpoint
