-- Every catalog name with its matching forms:
--   std_name        the full name standardized (artists and genres match on it),
--   std_clean_name  the title without decorations (tracks of one song share it),
--   std_match_name  the title plus its version decorations (one recording: a re-release
--                   "- Single Version" or "(feat. X)" matches the original, a "(Remix)" not),
--   version_type    read from the version decorations, display_name title-cased.
-- The string work runs once per distinct name (about half the rows of the real catalog).
with names as (  -- the usable rows: an id, a known type, a name; one row per (type, id)
    select entity_id, entity_type, entity_name
    from {{ ref('int_catalog_names_checked') }}
    where issue is null
),

distinct_names as (
    select distinct entity_name from names
),

decorated as (
    select
        entity_name,
        {{ clean_name('entity_name') }} as cleaned_name,
        {{ version_decorations('entity_name') }} as version_decorations
    from distinct_names
),

standardized as (
    select
        entity_name,
        {{ standardize_text('entity_name') }} as std_name,
        {{ standardize_text('cleaned_name') }} as std_cleaned_name,
        {{ standardize_text('version_decorations') }} as std_version,
        {{ version_type('version_decorations') }} as version_type,
        {{ title_case('entity_name') }} as display_name
    from decorated
),

forms as (
    select
        entity_name,
        std_name,
        coalesce(nullif(std_cleaned_name, ''), std_name) as std_clean_name,
        coalesce(nullif(std_cleaned_name, ''), std_name)
            || case when std_version <> '' then ' ~ ' || std_version else '' end
            as std_match_name,
        version_type,
        display_name
    from standardized
),

final as (
    select
        names.entity_type,
        names.entity_id,
        names.entity_name,
        forms.std_name,
        forms.std_clean_name,
        forms.std_match_name,
        forms.version_type,
        forms.display_name
    from names
    inner join forms on forms.entity_name = names.entity_name
)

select * from final
