-- Log listens kept by the track_seq threshold, on canonical track ids. Listens of duplicate
-- ids are kept (mapped, not dropped); ids outside tracks.parquet are not catalog tracks.
with interactions as (
    select * from {{ ref('stg_yandex__interactions') }}
),

thresholds as (
    select track_seq_threshold from {{ ref('int_track_seq_thresholds_computed') }}
),

track_map as (
    select raw_id, canonical_id from {{ ref('int_tracks_deduplicated') }}
),

kept as (
    select interactions.user_id, interactions.track_id, interactions.listen_date
    from interactions
    cross join thresholds
    where interactions.track_seq <= thresholds.track_seq_threshold
),

mapped as (
    select kept.user_id, track_map.canonical_id as track_id, kept.listen_date
    from kept
    inner join track_map on track_map.raw_id = kept.track_id
)

select * from mapped
