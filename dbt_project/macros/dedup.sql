{#-
  Deduplication: the canonical id of a group of raw ids is the smallest raw id of the group.
  Ids whose key is empty or unknown (no name, no artists) form their own group, so missing
  data never merges unrelated ids.
-#}

{#- Canonical id per raw id of `entity_type` ('artist' | 'genre'), grouped by standardized
    name. Covers ids that only tracks reference (e.g. genres missing from catalog_names). -#}
{% macro deduplicate_by_name(entity_type) -%}
with names as (
    select entity_id, entity_name, std_name, display_name
    from {{ ref('int_names_standardized') }}
    where entity_type = '{{ entity_type }}'
),

referenced as (
    select distinct entity_id
    from {{ ref('int_track_entities_exploded') }}
    where entity_type = '{{ entity_type }}' and entity_id is not null
),

all_ids as (
    select
        coalesce(names.entity_id, referenced.entity_id) as raw_id,
        names.entity_name as raw_name,
        names.std_name,
        names.display_name
    from names
    full outer join referenced on names.entity_id = referenced.entity_id
),

keyed as (  -- an empty standardized name (e.g. punctuation only) never merges ids
    select
        *,
        coalesce(nullif(std_name, ''), '#id:' || cast(raw_id as varchar)) as dedup_key
    from all_ids
),

canonical as (
    select *, min(raw_id) over (partition by dedup_key) as canonical_id
    from keyed
)

select raw_id, canonical_id, raw_name, std_name, display_name, dedup_key
from canonical
{%- endmacro %}


{#- Canonical id per raw id of `entity_type` ('album' | 'track'), grouped by standardized name
    (std_match_name: decorations that do not change the recording are dropped) AND the set of
    canonical artists: every credited artist of a track; the lead (first-credited) artists of
    an album's tracks, so a guest on one track does not split an album from its re-release. -#}
{% macro deduplicate_by_name_and_artists(entity_type) -%}
with names as (
    select entity_id, entity_name, std_match_name, std_clean_name, display_name, version_type
    from {{ ref('int_names_standardized') }}
    where entity_type = '{{ entity_type }}'
),

entities as (
    select * from {{ ref('int_track_entities_exploded') }}
),

artist_map as (
    select raw_id, canonical_id from {{ ref('int_artists_deduplicated') }}
),

{% if entity_type == 'track' -%}
members as (  -- a track is its own member
    select distinct track_id as raw_id, track_id from entities
),
{%- else -%}
members as (  -- an album's members are the tracks listing it
    select distinct entity_id as raw_id, track_id
    from entities
    where entity_type = 'album' and entity_id is not null
),
{%- endif %}

member_artists as (  -- all credited artists of a track; the lead artists of an album's tracks
    select members.raw_id, artist_map.canonical_id as artist_id
    from members
    inner join entities
        on entities.track_id = members.track_id
        and entities.entity_type = 'artist'
        and entities.entity_id is not null
        {%- if entity_type == 'album' %}
        and entities.entity_pos = 1
        {%- endif %}
    inner join artist_map on artist_map.raw_id = entities.entity_id
),

artist_sets as (
    select raw_id, list_sort(list_distinct(list(artist_id))) as artist_set
    from member_artists
    group by raw_id
),

all_ids as (
    select
        coalesce(names.entity_id, members.raw_id) as raw_id,
        names.entity_name as raw_name,
        names.std_match_name,
        names.std_clean_name,
        names.display_name,
        coalesce(names.version_type, 'original') as version_type
    from names
    full outer join (select distinct raw_id from members) as members
        on names.entity_id = members.raw_id
    {%- if entity_type == 'track' %}
    -- a track is in the catalog only if tracks.parquet lists it
    where members.raw_id is not null
    {%- endif %}
),

keyed as (
    select
        all_ids.*,
        coalesce(artist_sets.artist_set, []) as artist_set,
        case
            when coalesce(all_ids.std_match_name, '') = '' or artist_sets.artist_set is null
                then '#id:' || cast(all_ids.raw_id as varchar)
            else all_ids.std_match_name || '|' || array_to_string(artist_sets.artist_set, ',')
        end as dedup_key
    from all_ids
    left join artist_sets on artist_sets.raw_id = all_ids.raw_id
),

canonical as (
    select *, min(raw_id) over (partition by dedup_key) as canonical_id
    from keyed
)

select
    raw_id, canonical_id, raw_name, std_match_name, std_clean_name, display_name, version_type,
    artist_set, dedup_key
from canonical
{%- endmacro %}
