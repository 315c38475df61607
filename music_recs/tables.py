"""Column and table names used by the model steps and the services, in one place (like RecTools' ``Columns``).

The names follow ``docs/ARCHITECTURE.md``; change them there first, then here.
"""

from __future__ import annotations


class Columns:
    """Column names of the warehouse tables the model steps and services read and write."""

    User = "user_id"
    Item = "track_id"
    SimilarItem = "similar_track_id"
    Genre = "genre_id"
    Artist = "artist_id"
    Score = "score"
    Rank = "rank"
    Weight = "weight"
    Phase = "phase"
    UserIdx = "user_idx"
    ItemIdx = "track_idx"
    ListenCount = "listen_count"
    FirstListen = "first_listen"
    LastListen = "last_listen"
    Label = "label"
    Model = "model"
    Segment = "segment"
    K = "k"
    Metric = "metric"
    Value = "value"
    Feature = "feature"
    Importance = "importance"
    RawId = "raw_id"  # map_* tables: every raw id ...
    CanonicalId = "canonical_id"  # ... and the canonical id it maps to
    TrackName = "track_name"
    ArtistName = "artist_name"
    AlbumName = "album_name"
    GenreName = "genre_name"
    Key = "key"  # build_info: key, value


class Tables:
    """Warehouse tables: inputs built by dbt, outputs written by ``models_py``."""

    # inputs (dbt marts)
    Events = "events"
    Items = "items"
    ItemGenres = "item_genres"
    ItemArtists = "item_artists"
    MapTracks = "map_tracks"
    Catalog = "catalog"
    SplitInfo = "split_info"
    EventsTrain = "events_train"
    EventsTest = "events_test"
    EventsFit = "events_fit"
    EventsLabels = "events_labels"
    TrackFeatures = "track_features"
    GenreFeatures = "genre_features"
    ArtistFeatures = "artist_features"
    UserFeatures = "user_features"
    UserGenreAffinity = "user_genre_affinity"
    UserArtistAffinity = "user_artist_affinity"
    UserIndex = "user_index"
    TrackIndex = "track_index"

    # outputs (models_py)
    RecsPopular = "recs_popular"
    RecsPopularGenre = "recs_popular_genre"
    RecsAls = "recs_als"
    SimilarTracks = "similar_tracks"
    RecsFinal = "recs_final"
    EvalMetrics = "eval_metrics"
    FeatureImportance = "feature_importance"

    # written by the build pipeline (orchestration/pipeline.py)
    BuildInfo = "build_info"


class Phases:
    """Values of the ``phase`` column of the feature tables."""

    Fit = "fit"  # computed from events_fit; the ranker learns on events_labels
    Serve = "serve"  # computed from events_train; used for the published recommendations


#: Tables written by the training steps (everything except the evaluation's own output).
TRAINED_TABLES: tuple[str, ...] = (
    Tables.RecsPopular,
    Tables.RecsPopularGenre,
    Tables.RecsAls,
    Tables.SimilarTracks,
    Tables.RecsFinal,
    Tables.FeatureImportance,
)

#: Tables exported as parquet by the ``export`` step.
EXPORTED_TABLES: tuple[str, ...] = (
    Tables.RecsPopular,
    Tables.RecsPopularGenre,
    Tables.RecsAls,
    Tables.SimilarTracks,
    Tables.RecsFinal,
)
