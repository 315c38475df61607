-- Train ends on split_date, test starts after it, and no (user, track) pair is in both.
with split as (
    select * from {{ ref('split_info') }}
),

train_late as (
    select 'train listen after split_date' as problem, user_id, track_id
    from {{ ref('events_train') }} cross join split
    where last_listen > split.split_date
),

test_early as (
    select 'test listen on or before split_date' as problem, user_id, track_id
    from {{ ref('events_test') }} cross join split
    where first_listen <= split.split_date
),

both_sets as (
    select 'pair in train and test' as problem, user_id, track_id
    from {{ ref('events_train') }}
    inner join {{ ref('events_test') }} using (user_id, track_id)
)

select * from train_late
union all select * from test_early
union all select * from both_sets
