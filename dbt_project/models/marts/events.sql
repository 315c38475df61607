-- All listens (filtered log + online events) per (user, canonical track).
-- Stored ordered by user: the services look a user's rows up by point query at full scale,
-- and DuckDB prunes row groups by their min/max only when the rows are clustered.
with listens as (
    select * from {{ ref('int_listens_unioned') }}
),

aggregated as (
    {{ aggregate_listens('listens') }}
)

select * from aggregated
order by user_id, track_id
