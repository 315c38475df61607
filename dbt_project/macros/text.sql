{#-
  Text standardization for matching names across duplicate ids.

  Why these steps: duplicates in the catalog differ by Unicode form, diacritics, case,
  punctuation and spacing ("Beyoncé" / "BEYONCE" / "beyonce "), and by decorations
  ("(feat. X)", "- Live", "(Remastered 2011)"). Non-Latin scripts must survive intact:
  accents are stripped from Latin letters only, because strip_accents() would turn
  Cyrillic "й" into "и" and Japanese "ポ" into "ホ" (different letters, false merges).
-#}

{#- Accents off Latin letters only; other scripts untouched. Expects NFC input: a string
    without a precomposed accented Latin letter (ASCII, Cyrillic, kana ...) is returned as is,
    so the per-character path only runs for mixed-script names with accents. -#}
{% macro strip_latin_accents(expr) -%}
(case
    when not regexp_matches({{ expr }}, '[\x{00C0}-\x{024F}\x{1E00}-\x{1EFF}]') then {{ expr }}
    when not regexp_matches({{ expr }}, '[^\p{Latin}\p{Common}\p{Inherited}]')
        then strip_accents({{ expr }})
    else array_to_string(
        list_transform(
            string_split({{ expr }}, ''),
            ch -> case when regexp_matches(ch, '\p{Latin}') then strip_accents(ch) else ch end
        ),
        ''
    )
end)
{%- endmacro %}

{#- Matching form: NFC, Latin accents off, lowercase, apostrophes dropped, other punctuation
    and symbols turned into spaces, whitespace collapsed and trimmed. -#}
{% macro standardize_text(expr) -%}
trim(regexp_replace(regexp_replace(regexp_replace(
    replace(replace(replace(translate(
        lower({{ strip_latin_accents('nfc_normalize(' ~ expr ~ ')') }}),
        'øłđħı', 'oldhi'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'),
    '[''’‘`´ʼ]', '', 'g'),
    '[^\p{L}\p{N}\p{M}\s]+', ' ', 'g'),
    '\s+', ' ', 'g'))
{%- endmacro %}

{#- Words that make a different recording of a song (kept in the track's identity). -#}
{% macro version_marker_regex() -%}
(\blive\b|\bunplugged\b|\bremix(es|ed)?\b|\brmx\b|\bmix\b|\bedit\b|\bextended\b|\bacoustic\b|\bcover(ed)?\b|\binstrumental\b|\bdemo\b|\bkaraoke\b|\bversion\b|кавер|ремикс|концерт)
{%- endmacro %}

{#- Phrases that only mark a re-release of the same recording (dropped from the identity). -#}
{% macro release_marker_regex() -%}
(\bsingle version\b|\balbum version\b|\boriginal mix\b|\bsingle\b|(\d{4} )?\bremaster(ed)?\b( \d{4})?|\bdeluxe( edition)?\b|\bexplicit\b|\bclean\b|\bbonus( track)?\b)
{%- endmacro %}

{#- Bracketed text ((), [], {}, full-width) replaced by a space. -#}
{% macro strip_brackets(expr) -%}
regexp_replace(nfc_normalize({{ expr }}), '\s*[\(\[\{（【][^\)\]\}）】]*[\)\]\}）】]', ' ', 'g')
{%- endmacro %}

{#- Song or album title without decorations: bracketed text, "feat./ft./featuring" suffixes,
    " - <marker>" suffixes, trailing markers. May be empty ("(Intro)"): callers fall back. -#}
{% macro clean_name(expr) -%}
trim(regexp_replace(regexp_replace(regexp_replace(
    {{ strip_brackets(expr) }},
    '(?i)\s+(feat\.?|ft\.?|featuring)\s.*$', ''),
    '(?i)\s+[-–—]\s+[^-–—]*({{ version_marker_regex() }}|{{ release_marker_regex() }}).*$', ''),
    '(?i)\s+{{ trailing_marker_regex() }}\s*$', ''))
{%- endmacro %}

{#- Markers that end a title without brackets or dash; only unambiguous ones ("Let It Live"
    keeps its "Live"). -#}
{% macro trailing_marker_regex() -%}
(remix|radio edit|extended mix|extended version|acoustic version|live version|single version|remastered \d{4}|\d{4} remaster(ed)?|remastered)
{%- endmacro %}

{#- The version decorations of a name, lowercased: bracket contents, the last " - " segment
    and a trailing marker, keeping only the parts that carry a version marker once re-release
    phrases are removed ("(feat. X)", "(Remastered 2011)", "- Single Version" give ''). -#}
{% macro version_decorations(expr) -%}
array_to_string(list_filter(
    list_transform(
        list_concat(
            regexp_extract_all(lower(nfc_normalize({{ expr }})), '[\(\[\{（【]([^\)\]\}）】]*)[\)\]\}）】]', 1),
            [regexp_extract(lower({{ strip_brackets(expr) }}), '\s[-–—]\s([^-–—]*)$', 1),
             regexp_extract(regexp_replace(lower({{ strip_brackets(expr) }}), '\s[-–—]\s[^-–—]*$', ''),
                 '\s{{ trailing_marker_regex() }}\s*$', 1)]
        ),
        part -> trim(regexp_replace(part, '{{ release_marker_regex() }}', ' ', 'g'))
    ),
    part -> regexp_matches(part, '{{ version_marker_regex() }}')
), ' ')
{%- endmacro %}

{#- 'cover' | 'live' | 'remix' | 'other' (acoustic, instrumental, demo ...) | 'original',
    read from version_decorations() only ("Live and Let Die" is an original). -#}
{% macro version_type(decorations) -%}
(case
    when regexp_matches({{ decorations }}, '\bcover(ed)?\b|кавер') then 'cover'
    when regexp_matches({{ decorations }}, '\blive\b|\bunplugged\b|концерт') then 'live'
    when regexp_matches({{ decorations }}, '\bremix(es|ed)?\b|\brmx\b|\bmix\b|\bedit\b|\bextended\b|ремикс') then 'remix'
    when {{ decorations }} <> '' then 'other'
    else 'original'
end)
{%- endmacro %}

{#- Display form: NFC, whitespace collapsed, a letter upper-cased at the start of a word or
    after '-', '/', '(' etc. and lower-cased after a letter, digit or apostrophe ("BEYONCE" ->
    "Beyonce", "jay-z" -> "Jay-Z", "m'aimes" stays). Scripts without case are unchanged. -#}
{% macro title_case(expr) -%}
array_to_string(list_transform(
    list_zip(
        string_split(trim(regexp_replace(nfc_normalize({{ expr }}), '\s+', ' ', 'g')), ''),
        list_prepend(' ', string_split(trim(regexp_replace(nfc_normalize({{ expr }}), '\s+', ' ', 'g')), ''))
    ),
    pair -> case
        when regexp_matches(pair[2], '[\p{L}\p{N}\p{M}''’]') then lower(pair[1])
        else upper(pair[1])
    end
), '')
{%- endmacro %}

{#- Grouping key that never merges ids on an empty key (e.g. a name of punctuation only). -#}
{% macro dedup_key(std_expr, id_expr) -%}
coalesce(nullif({{ std_expr }}, ''), '#id:' || cast({{ id_expr }} as varchar))
{%- endmacro %}
