{#- Every ref renders as "main"."<model>", without the database (the build file's name).
    Why: views store the SQL they were created with, and a view naming
    "music_recs-<build id>".main.x breaks as soon as the file is copied or attached under
    another name (a user's copy, the floor tool, a backup). Schema-qualified names resolve
    inside whatever catalog holds the view. -#}
{% macro ref() %}
    {%- set relation = builtins.ref(*varargs, **kwargs) -%}
    {%- if relation is not none and relation.include is defined -%}
        {%- do return(relation.include(database=false)) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{% endmacro %}
