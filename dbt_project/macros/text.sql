{#- Matching form of a name (used for the full name, the cleaned title and the version
    decorations in int_names_standardized): NFC, accents off Latin letters only, ø/ł/đ/ħ/ı,
    ß, æ, œ folded, lowercase, apostrophes dropped, other punctuation and symbols turned into
    spaces, whitespace collapsed and trimmed.
    Why Latin only: strip_accents() would turn Cyrillic "й" into "и" and Japanese "ポ" into
    "ホ" (different letters, false merges). A name without a precomposed accented Latin letter
    (ASCII, Cyrillic, kana ...) skips the accent step; only mixed-script names with accents
    take the per-character path. -#}
{% macro standardize_text(expr) -%}
{%- set nfc = 'nfc_normalize(' ~ expr ~ ')' -%}
trim(regexp_replace(regexp_replace(regexp_replace(
    replace(replace(replace(translate(
        lower((case
            when not regexp_matches({{ nfc }}, '[\x{00C0}-\x{024F}\x{1E00}-\x{1EFF}]') then {{ nfc }}
            when not regexp_matches({{ nfc }}, '[^\p{Latin}\p{Common}\p{Inherited}]')
                then strip_accents({{ nfc }})
            else array_to_string(
                list_transform(
                    string_split({{ nfc }}, ''),
                    ch -> case when regexp_matches(ch, '\p{Latin}') then strip_accents(ch) else ch end
                ),
                ''
            )
        end)),
        'øłđħı', 'oldhi'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'),
    '[''’‘`´ʼ]', '', 'g'),
    '[^\p{L}\p{N}\p{M}\s]+', ' ', 'g'),
    '\s+', ' ', 'g'))
{%- endmacro %}
