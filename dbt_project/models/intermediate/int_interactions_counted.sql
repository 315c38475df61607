-- One row: the log's rows and those without a user, a track id or a date (first problem
-- only, in that order), for the data_quality mart. One pass of counts over the raw log (no
-- join, no grouping); listens of ids outside tracks.parquet are the usable-looking rows
-- that int_listens_mapped did not keep.
with interactions as (
    select user_id, track_id, listen_date from {{ ref('stg_yandex__interactions') }}
),

counted as (
    select
        count(*) as n_rows,
        count(*) filter (where user_id is null) as n_null_user_id,
        count(*) filter (where user_id is not null and track_id is null) as n_null_track_id,
        count(*) filter (
            where user_id is not null and track_id is not null and listen_date is null
        ) as n_null_started_at
    from interactions
)

select * from counted
