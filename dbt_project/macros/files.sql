{#- True when `path` (local or s3://, glob-able) names at least one existing file.
    Why: optional inputs (online events) must not fail a build when they were never written. -#}
{% macro file_exists(path) -%}
    {%- set sql -%}
        select count(*) as n from glob('{{ path | replace("'", "''") }}')
    {%- endset -%}
    {%- set result = run_query(sql) -%}
    {{- return(result.columns[0].values()[0] > 0) -}}
{%- endmacro %}
