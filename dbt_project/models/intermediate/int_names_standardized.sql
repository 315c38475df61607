-- Every catalog name with its matching forms:
--   std_name        the full name standardized (artists and genres match on it),
--   std_clean_name  the title without decorations (tracks of one song share it),
--   std_match_name  the title plus its version decorations (one recording: a re-release
--                   "- Single Version" or "(feat. X)" matches the original, a "(Remix)" not),
--   version_type    read from the version decorations, display_name title-cased.
with names as (
    select * from {{ ref('stg_yandex__catalog_names') }}
),

decorated as (
    select
        entity_type,
        entity_id,
        entity_name,
        {{ clean_name('entity_name') }} as cleaned_name,
        {{ version_decorations('entity_name') }} as version_decorations
    from names
),

standardized as (
    select
        entity_type,
        entity_id,
        entity_name,
        {{ standardize_text('entity_name') }} as std_name,
        {{ standardize_text('cleaned_name') }} as std_cleaned_name,
        {{ standardize_text('version_decorations') }} as std_version,
        {{ version_type('version_decorations') }} as version_type,
        {{ title_case('entity_name') }} as display_name
    from decorated
),

final as (
    select
        entity_type,
        entity_id,
        entity_name,
        std_name,
        coalesce(nullif(std_cleaned_name, ''), std_name) as std_clean_name,
        coalesce(nullif(std_cleaned_name, ''), std_name)
            || case when std_version <> '' then ' ~ ' || std_version else '' end
            as std_match_name,
        version_type,
        display_name
    from standardized
)

select * from final
