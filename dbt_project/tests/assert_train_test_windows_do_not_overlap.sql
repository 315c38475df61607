-- Train ends on split_date, test starts after it, and no (user, track) pair is in both.
with split as (
    select * from {{ ref('split_info') }}
),

train_late as (
    select 'train listen after split_date' as problem, train.user_id, train.track_id
    from {{ ref('events_train') }} as train
    cross join split
    where train.last_listen > split.split_date
),

test_early as (
    select 'test listen on or before split_date' as problem, test.user_id, test.track_id
    from {{ ref('events_test') }} as test
    cross join split
    where test.first_listen <= split.split_date
),

both_sets as (
    select 'pair in train and test' as problem, train.user_id, train.track_id
    from {{ ref('events_train') }} as train
    inner join {{ ref('events_test') }} as test
        on train.user_id = test.user_id and train.track_id = test.track_id
)

select * from train_late
union all
select * from test_early
union all
select * from both_sets
