-- Every usable log listen (a user, a date, a track id of tracks.parquet) on its canonical
-- track id, with its track_seq: listens of duplicate ids are kept (mapped, not dropped);
-- listens without a user or a date, or of ids outside tracks.parquet, are dropped (counted
-- in data_quality). No listen is cut here: the split and the track_seq threshold are
-- computed from this table (int_split_dates_computed), and the cut, which touches the train
-- window only, is applied where the listens are read (int_listens_unioned).
with interactions as (
    select * from {{ ref('stg_yandex__interactions') }}
),

track_map as (
    select raw_id, canonical_id from {{ ref('int_tracks_deduplicated') }}
),

mapped as (
    select
        interactions.user_id,
        track_map.canonical_id as track_id,
        interactions.listen_date,
        interactions.track_seq
    from interactions
    inner join track_map on interactions.track_id = track_map.raw_id
    where interactions.user_id is not null and interactions.listen_date is not null
)

select * from mapped
