-- One row per (user, day with a listen): both phases of user_features count active days
-- from it, instead of two distinct-counts over every listen.
with listens as (
    select user_id, listen_date from {{ ref('int_listens_unioned') }}
),

days as (
    select distinct user_id, listen_date
    from listens
)

select * from days
