-- The time split, from the offline log only: online events carry wall-clock dates long
-- after a historical log ends, so letting them move the split would empty the test window.
{%- set split_date = var('split_date') %}
{%- set test_days = var('test_days') | int %}
{%- set label_days = var('label_days') | int %}
{%- if split_date is not none and split_date != '' %}
    {%- set parsed = modules.re.match('^\d{4}-\d{2}-\d{2}$', split_date | string) %}
    {%- if not parsed %}
        {{ exceptions.raise_compiler_error("var split_date must be YYYY-MM-DD or null, got '" ~ split_date ~ "'") }}
    {%- endif %}
{%- endif %}
{%- if test_days <= 0 or label_days <= 0 %}
    {{ exceptions.raise_compiler_error("vars test_days and label_days must be positive, got " ~ test_days ~ " and " ~ label_days) }}
{%- endif %}
with listens as (
    select listen_date from {{ ref('int_listens_mapped') }}
),

thresholds as (
    select track_seq_threshold from {{ ref('int_track_seq_thresholds_computed') }}
),

bounds as (
    select min(listen_date) as min_date, max(listen_date) as max_date
    from listens
),

split as (
    select
        {%- if split_date is not none and split_date != '' %}
        cast('{{ split_date }}' as date) as split_date,
        {%- else %}
        cast(max_date - {{ test_days }} as date) as split_date,
        {%- endif %}
        min_date,
        max_date
    from bounds
),

final as (
    select
        split.split_date,
        cast(split.split_date - {{ label_days }} as date) as label_start,
        split.min_date,
        split.max_date,
        thresholds.track_seq_threshold
    from split
    cross join thresholds
)

select * from final
