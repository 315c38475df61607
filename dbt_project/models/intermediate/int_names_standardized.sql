-- Every catalog name with its matching forms:
--   std_name        the full name standardized (artists and genres match on it),
--   std_clean_name  the title without decorations (tracks of one song share it),
--   std_match_name  the title plus its version decorations (one recording: a re-release
--                   "- Single Version" or "(feat. X)" matches the original, a "(Remix)" not),
--   version_type    read from the version decorations, display_name title-cased.
-- Standardized = macro standardize_text (NFC, Latin accents off, lowercase, punctuation out,
-- spaces collapsed). The string work runs once per distinct name (about half the rows of the
-- real catalog).
{#- Words that make a different recording of a song (kept in the track's identity). #}
{%- set version_markers -%}
(\blive\b|\bunplugged\b|\bremix(es|ed)?\b|\brmx\b|\bmix\b|\bedit\b|\bextended\b|\bacoustic\b|\bcover(ed)?\b|\binstrumental\b|\bdemo\b|\bkaraoke\b|\bversion\b|кавер|ремикс|концерт)
{%- endset %}
{#- Phrases that only mark a re-release of the same recording (dropped from the identity). #}
{%- set release_markers -%}
(\bsingle version\b|\balbum version\b|\boriginal mix\b|\bsingle\b|(\d{4} )?\bremaster(ed)?\b( \d{4})?|\bdeluxe( edition)?\b|\bexplicit\b|\bclean\b|\bbonus( track)?\b)
{%- endset %}
{#- Markers that end a title without brackets or dash; only unambiguous ones ("Let It Live"
    keeps its "Live"). #}
{%- set trailing_markers -%}
(remix|radio edit|extended mix|extended version|acoustic version|live version|single version|remastered \d{4}|\d{4} remaster(ed)?|remastered)
{%- endset %}
with names as (  -- the usable rows: an id, a known type, a name; one row per (type, id)
    select entity_id, entity_type, entity_name
    from {{ ref('int_catalog_names_checked') }}
    where issue is null
),

distinct_names as (
    select distinct entity_name from names
),

unbracketed as (  -- NFC with bracketed text ((), [], {}, full-width) replaced by a space
    select
        entity_name,
        regexp_replace(
            nfc_normalize(entity_name), '\s*[\(\[\{（【][^\)\]\}）】]*[\)\]\}）】]', ' ', 'g'
        ) as unbracketed_name
    from distinct_names
),

decorated as (
    select
        entity_name,
        -- the title without "feat./ft./featuring" suffixes, " - <marker>" suffixes and
        -- trailing markers; may be empty ("(Intro)"): `forms` falls back to the full name
        trim(regexp_replace(regexp_replace(regexp_replace(
            unbracketed_name,
            '(?i)\s+(feat\.?|ft\.?|featuring)\s.*$', ''),
            '(?i)\s+[-–—]\s+[^-–—]*({{ version_markers }}|{{ release_markers }}).*$', ''),
            '(?i)\s+{{ trailing_markers }}\s*$', '')) as cleaned_name,
        -- the version decorations, lowercased: bracket contents, the last " - " segment and a
        -- trailing marker, keeping only the parts that carry a version marker once re-release
        -- phrases are removed ("(feat. X)", "(Remastered 2011)", "- Single Version" give '')
        array_to_string(list_filter(
            list_transform(
                list_concat(
                    regexp_extract_all(
                        lower(nfc_normalize(entity_name)), '[\(\[\{（【]([^\)\]\}）】]*)[\)\]\}）】]', 1
                    ),
                    [
                        regexp_extract(lower(unbracketed_name), '\s[-–—]\s([^-–—]*)$', 1),
                        regexp_extract(
                            regexp_replace(lower(unbracketed_name), '\s[-–—]\s[^-–—]*$', ''),
                            '\s{{ trailing_markers }}\s*$', 1
                        )
                    ]
                ),
                part -> trim(regexp_replace(part, '{{ release_markers }}', ' ', 'g'))
            ),
            part -> regexp_matches(part, '{{ version_markers }}')
        ), ' ') as version_decorations,
        -- display form: NFC, whitespace collapsed (title-cased in `standardized`)
        trim(regexp_replace(nfc_normalize(entity_name), '\s+', ' ', 'g')) as spaced_name
    from unbracketed
),

standardized as (
    select
        entity_name,
        {{ standardize_text('entity_name') }} as std_name,
        {{ standardize_text('cleaned_name') }} as std_cleaned_name,
        {{ standardize_text('version_decorations') }} as std_version,
        -- read from the decorations only ("Live and Let Die" is an original)
        case
            when regexp_matches(version_decorations, '\bcover(ed)?\b|кавер') then 'cover'
            when regexp_matches(version_decorations, '\blive\b|\bunplugged\b|концерт') then 'live'
            when regexp_matches(
                version_decorations, '\bremix(es|ed)?\b|\brmx\b|\bmix\b|\bedit\b|\bextended\b|ремикс'
            ) then 'remix'
            when version_decorations <> '' then 'other'
            else 'original'
        end as version_type,
        -- a letter upper-cased at the start of a word or after '-', '/', '(' etc. and
        -- lower-cased after a letter, digit or apostrophe ("BEYONCE" -> "Beyonce", "jay-z" ->
        -- "Jay-Z", "m'aimes" stays); scripts without case are unchanged
        array_to_string(list_transform(
            list_zip(string_split(spaced_name, ''), list_prepend(' ', string_split(spaced_name, ''))),
            pair -> case
                when regexp_matches(pair[2], '[\p{L}\p{N}\p{M}''’]') then lower(pair[1])
                else upper(pair[1])
            end
        ), '') as display_name
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
    inner join forms on names.entity_name = forms.entity_name
)

select * from final
