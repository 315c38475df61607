-- The time split, the ranker's label window and the track_seq cut-off, from the usable
-- offline log listens (int_listens_mapped, where nothing is cut yet). Online events never
-- move them: their wall-clock dates come long after a historical log.
--   split_date   var split_date; else with var split_quantile q the log date with about q of
--                the listens on or before it; else the last log date - test_days.
--   threshold    track_seq at quantile track_seq_quantile of the TRAIN window's listens
--                (inverse CDF, = quantile_disc); only train listens deeper than it are cut
--                (int_listens_unioned), the test window is never read nor cut.
--   label_start  with q, the train date with about q of the kept train listens on or before
--                it; else split_date - label_days.
-- The quantile rules choose dates of the log (so a log dated on the 1st of each month splits
-- on month boundaries) that leave at least one listen in the fit, label and test windows;
-- when the data cannot give a listen to every window the build stops with a message naming
-- the setting. Three one-key aggregations of the log (by date, by train depth, by kept
-- train date): a joint (date, depth) histogram cost 3-8x more at scale.
{%- set split_date = var('split_date') %}
{%- set test_days = var('test_days') | int %}
{%- set label_days = var('label_days') | int %}
{%- set q = var('split_quantile', none) %}
{%- set seq_q = var('track_seq_quantile') %}
{%- set has_split_date = split_date is not none and split_date != '' %}
{%- set by_quantile = q is not none and q != '' %}
{%- if has_split_date %}
    {%- set parsed = modules.re.match('^\d{4}-\d{2}-\d{2}$', split_date | string) %}
    {%- if not parsed %}
        {{ exceptions.raise_compiler_error("var split_date must be YYYY-MM-DD or null, got '" ~ split_date ~ "'") }}
    {%- endif %}
{%- endif %}
{%- if by_quantile %}
    {%- set q = q | float(-1) %}
    {%- if q <= 0 or q >= 1 %}
        {{ exceptions.raise_compiler_error("var split_quantile (MUSIC_RECS_SPLIT_QUANTILE) must be in (0, 1) or null, got " ~ var('split_quantile')) }}
    {%- endif %}
{%- endif %}
{%- if test_days <= 0 or label_days <= 0 %}
    {{ exceptions.raise_compiler_error("vars test_days and label_days must be positive, got " ~ test_days ~ " and " ~ label_days) }}
{%- endif %}
{%- if seq_q is none or (seq_q | float(-1)) <= 0 or (seq_q | float(-1)) > 1 %}
    {{ exceptions.raise_compiler_error("var track_seq_quantile must be in (0, 1], got " ~ seq_q) }}
{%- endif %}
{#- The setting that decides each boundary, named in the errors. #}
{%- if has_split_date %}
    {%- set split_setting = "split_date (MUSIC_RECS_SPLIT_DATE) = " ~ split_date %}
{%- elif by_quantile %}
    {%- set split_setting = "split_quantile (MUSIC_RECS_SPLIT_QUANTILE) = " ~ q %}
{%- else %}
    {%- set split_setting = "test_days (MUSIC_RECS_TEST_DAYS) = " ~ test_days %}
{%- endif %}
{%- if by_quantile %}
    {%- set label_setting = "split_quantile (MUSIC_RECS_SPLIT_QUANTILE) = " ~ q %}
{%- else %}
    {%- set label_setting = "label_days (MUSIC_RECS_LABEL_DAYS) = " ~ label_days ~ " (with coarse, e.g. monthly, dates set MUSIC_RECS_SPLIT_QUANTILE)" %}
{%- endif %}
with per_date as (
    select listen_date, count(*) as n_listens
    from {{ ref('int_listens_mapped') }}
    group by listen_date
),

bounds as (
    select
        min(listen_date) as min_date,
        max(listen_date) as max_date,
        sum(n_listens) as n_log_listens,
        count(*) as n_dates
    from per_date
),

{%- if has_split_date %}

split as (
    select cast('{{ split_date }}' as date) as split_date
),
{%- elif by_quantile %}

log_through as (  -- listens on or before each date
    select listen_date, sum(n_listens) over (order by listen_date) as n_through
    from per_date
),

split as (  -- closest share to q among dates leaving a date before and after (ties: later)
    select (
        select log_through.listen_date
        from log_through
        cross join bounds
        where log_through.listen_date > bounds.min_date
            and log_through.listen_date < bounds.max_date
        order by abs(log_through.n_through - {{ q }} * bounds.n_log_listens),
            log_through.listen_date desc
        limit 1
    ) as split_date
),
{%- else %}

split as (
    select cast(max_date - {{ test_days }} as date) as split_date
    from bounds
),
{%- endif %}

train_depths as (
    select usable.track_seq, count(*) as n_listens
    from {{ ref('int_listens_mapped') }} as usable
    cross join split
    where usable.listen_date <= split.split_date and usable.track_seq is not null
    group by usable.track_seq
),

threshold as (  -- smallest depth with at least the quantile's share of train listens
    select min(track_seq) as track_seq_threshold
    from (
        select
            track_seq,
            sum(n_listens) over (order by track_seq) as n_through,
            sum(n_listens) over () as n_total
        from train_depths
    ) as cumulative
    where n_through >= cast({{ seq_q }} as double) * n_total
),

kept_train as (  -- train listens left by the cut, per date
    select usable.listen_date, count(*) as n_listens
    from {{ ref('int_listens_mapped') }} as usable
    cross join split
    cross join threshold
    where usable.listen_date <= split.split_date
        and (usable.track_seq is null or usable.track_seq <= threshold.track_seq_threshold)
    group by usable.listen_date
),

{%- if by_quantile %}

train_through as (
    select
        listen_date,
        sum(n_listens) over (order by listen_date) as n_through,
        sum(n_listens) over () as n_total,
        max(listen_date) over () as last_date
    from kept_train
),

label as (  -- closest share to q among train dates leaving a train date after (ties: later)
    select (
        select listen_date
        from train_through
        where listen_date < last_date
        order by abs(n_through - {{ q }} * n_total), listen_date desc
        limit 1
    ) as label_start
),
{%- else %}

label as (
    select cast(split_date - {{ label_days }} as date) as label_start
    from split
),
{%- endif %}

windows as (
    select
        (select coalesce(sum(kept_train.n_listens), 0) from kept_train cross join label
         where kept_train.listen_date <= label.label_start) as n_fit_listens,
        (select coalesce(sum(kept_train.n_listens), 0) from kept_train cross join label
         where kept_train.listen_date > label.label_start) as n_label_listens,
        (select coalesce(sum(per_date.n_listens), 0) from per_date cross join split
         where per_date.listen_date > split.split_date) as n_test_listens,
        (select coalesce(sum(per_date.n_listens), 0) from per_date cross join split
         where per_date.listen_date <= split.split_date)
        - (select coalesce(sum(n_listens), 0) from kept_train) as n_cut_listens
),

checked as (
    select
        split.split_date,
        label.label_start,
        bounds.min_date,
        bounds.max_date,
        threshold.track_seq_threshold,
        cast(coalesce(bounds.n_log_listens, 0) as bigint) as n_log_listens,
        cast(windows.n_fit_listens as bigint) as n_fit_listens,
        cast(windows.n_label_listens as bigint) as n_label_listens,
        cast(windows.n_test_listens as bigint) as n_test_listens,
        cast(windows.n_cut_listens as bigint) as n_cut_listens,
        case
            when bounds.n_log_listens is null
                then 'interactions.parquet has no usable listen (a user, a track of tracks.parquet and '
                    || 'a date): see int_interactions_counted and data_quality'
            when split.split_date is null
                then '{{ split_setting }}: the log has ' || bounds.n_dates
                    || ' listen date(s); a split needs at least 3 (fit, label and test windows)'
            when windows.n_test_listens = 0
                then '{{ split_setting }}: no listen after split_date ' || split.split_date
                    || ' (last log date ' || bounds.max_date || '): the test window is empty'
            when label.label_start is null
                then '{{ label_setting }}: the train window (up to split_date ' || split.split_date
                    || ') has fewer than 2 listen dates, no room for a fit and a label window'
            when windows.n_label_listens = 0
                then '{{ label_setting }}: no train listen in the label window ('
                    || label.label_start || ', ' || split.split_date || ']'
            when windows.n_fit_listens = 0
                then '{{ label_setting }}: no train listen on or before label_start '
                    || label.label_start || ' (first log date ' || bounds.min_date
                    || '): the fit window is empty'
        end as problem
    from bounds
    cross join split
    cross join threshold
    cross join label
    cross join windows
),

final as (
    select
        case when problem is null then split_date else error(problem) end as split_date,
        label_start,
        min_date,
        max_date,
        track_seq_threshold,
        n_log_listens,
        n_fit_listens,
        n_label_listens,
        n_test_listens,
        n_cut_listens
    from checked
)

select * from final
