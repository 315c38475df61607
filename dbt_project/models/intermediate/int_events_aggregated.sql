-- One pass over every listen, per (user, canonical track): counts and last dates of each
-- window at once (all listens; train = on or before split_date; fit = on or before
-- label_start). events, events_train and events_fit are views projecting this one table
-- instead of three aggregations of the ~200M-listen log, or three copies of its 188M pairs.
-- The first listen is shared: a pair belongs to a window exactly when its first listen does.
-- Stored ordered by user: the services look a user's rows up (through the events view) by
-- point query at full scale, and DuckDB prunes row groups by their min/max only when the
-- rows are clustered.
with listens as (
    select user_id, track_id, listen_date from {{ ref('int_listens_unioned') }}
),

split as (
    select split_date, label_start from {{ ref('int_split_dates_computed') }}
),

aggregated as (
    select
        listens.user_id,
        listens.track_id,
        cast(count(*) as integer) as listen_count,
        min(listens.listen_date) as first_listen,
        max(listens.listen_date) as last_listen,
        cast(count(*) filter (where listens.listen_date <= split.split_date) as integer)
            as train_listen_count,
        max(listens.listen_date) filter (where listens.listen_date <= split.split_date)
            as train_last_listen,
        cast(count(*) filter (where listens.listen_date <= split.label_start) as integer)
            as fit_listen_count,
        max(listens.listen_date) filter (where listens.listen_date <= split.label_start)
            as fit_last_listen
    from listens
    cross join split
    group by listens.user_id, listens.track_id
)

select * from aggregated
order by user_id, track_id
