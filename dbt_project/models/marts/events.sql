-- All listens (filtered log + online events) per (user, canonical track).
-- Stored ordered by user: the services look a user's rows up by point query at full scale,
-- and DuckDB prunes row groups by their min/max only when the rows are clustered.
with aggregated as (
    {{ events_window('') }}
)

select * from aggregated
order by user_id, track_id
