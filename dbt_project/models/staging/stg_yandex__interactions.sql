-- The listening log, one row per raw listen; the log is date-only, so listen_date is its time.
with source as (
    select * from {{ source('yandex', 'interactions') }}
),

renamed as (
    select
        cast(user_id as integer) as user_id,
        cast(track_id as bigint) as track_id,
        cast(track_seq as integer) as track_seq,
        cast(started_at as date) as listen_date
    from source
)

select * from renamed
