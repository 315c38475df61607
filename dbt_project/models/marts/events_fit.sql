-- Train listens on or before label_start: what the ranker's candidates and features see.
with fit as (
    {{ events_window('fit_') }}
)

select * from fit
