-- One split row whose windows are ordered: min_date <= label_start < split_date < max_date.
-- Fails when a split_date var or test/label window does not fit the data.
with split as (
    select * from {{ ref('split_info') }}
),

counted as (
    select count(*) as n_rows from split
)

select 'split_info must have exactly one row' as problem from counted where n_rows <> 1
union all
select 'need min_date <= label_start < split_date < max_date, got '
    || min_date || ' / ' || label_start || ' / ' || split_date || ' / ' || max_date
from split
where not (min_date <= label_start and label_start < split_date and split_date < max_date)
