-- Online listens exported from the events service. The parquet may be absent (no export yet):
-- then this is an empty relation of the same shape, so a build never depends on it existing.
{%- set online_path = var('online_events_path') %}
{%- set has_file = true %}
{%- if execute %}
    {%- set has_file = file_exists(online_path) %}
    {%- do log('online events: ' ~ online_path ~ (' found' if has_file else ' absent, using none'),
        info=true) %}
{%- endif %}

with source as (
{%- if has_file %}
    select user_id, track_id, started_at from {{ source('events_service', 'online_events') }}
{%- else %}
    select
        cast(null as integer) as user_id,
        cast(null as bigint) as track_id,
        cast(null as timestamp) as started_at
    where false
{%- endif %}
),

renamed as (
    select
        cast(user_id as integer) as user_id,
        cast(track_id as bigint) as track_id,
        cast(started_at as date) as listen_date
    from source
)

select * from renamed
