-- One row: train = on or before split_date; ranker label window = (label_start, split_date].
with split as (
    select * from {{ ref('int_split_dates_computed') }}
),

final as (
    select split_date, label_start, min_date, max_date, track_seq_threshold
    from split
)

select * from final
