{#- The two feature phases, each computed from that phase's events only: 'fit' from
    events_fit's pairs with the reference date label_start, 'serve' from events_train's with
    split_date. Per phase: its name, the column prefix of its window in
    int_events_aggregated, and the split_info column that is "today" for it. The feature
    marts loop over these with the same expressions per phase, so a model's features are
    scaled identically when it trains and when it serves. -#}
{% macro feature_phases() -%}
{{ return([('fit', 'fit_', 'label_start'), ('serve', 'train_', 'split_date')]) }}
{%- endmacro %}
