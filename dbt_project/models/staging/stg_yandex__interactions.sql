-- The listening log, one row per raw listen. The warehouse works in days: started_at (a
-- midnight in the Yandex log, an exact time in a MovieLens conversion) becomes its date.
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
