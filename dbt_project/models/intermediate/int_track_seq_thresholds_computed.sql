-- The track_seq cut-off: listens deeper in a user's history than this quantile of all raw
-- listens are dropped (heavy users' long tails dominate the counts otherwise).
{%- set q = var('track_seq_quantile') %}
{%- if q is none or (q | float) <= 0 or (q | float) > 1 %}
    {{ exceptions.raise_compiler_error("var track_seq_quantile must be in (0, 1], got " ~ q) }}
{%- endif %}
with interactions as (
    select track_seq from {{ ref('stg_yandex__interactions') }}
),

threshold as (
    select
        cast({{ q }} as double) as track_seq_quantile,
        cast(quantile_disc(track_seq, {{ q }}) as integer) as track_seq_threshold
    from interactions
)

select * from threshold
