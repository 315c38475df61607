-- Names of raw ids; (entity_type, entity_id) is the key.
with source as (
    select * from {{ source('yandex', 'catalog_names') }}
),

renamed as (
    select
        cast(id as bigint) as entity_id,
        cast(type as varchar) as entity_type,
        cast(name as varchar) as entity_name
    from source
)

select * from renamed
