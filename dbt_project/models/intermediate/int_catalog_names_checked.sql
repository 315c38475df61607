-- Every row of catalog_names.parquet with the contract it breaks, if any (`issue`, null =
-- usable): a null id, a type other than track/album/artist/genre, a null or blank name, or
-- a repeated (type, id) (the row with the smallest name is kept). A dropped name leaves its
-- id unnamed: tracks.parquet still lists it, and an unnamed id is never merged with another.
-- Downstream models read the rows with a null issue; the data_quality mart counts the others.
with names as (
    select * from {{ ref('stg_yandex__catalog_names') }}
),

row_checked as (
    select
        entity_id,
        entity_type,
        entity_name,
        case
            when entity_id is null then 'null_id'
            when entity_type is null
                or entity_type not in ('track', 'album', 'artist', 'genre') then 'unknown_type'
            when entity_name is null or regexp_matches(entity_name, '^\s*$')
                then 'null_or_blank_name'
        end as row_issue
    from names
),

checked as (
    select
        entity_id,
        entity_type,
        entity_name,
        coalesce(row_issue, case
            when row_number() over (
                partition by entity_type, entity_id, row_issue is null order by entity_name) > 1
                then 'duplicate_id'
        end) as issue
    from row_checked
)

select * from checked
