"""The languages of the simulated ATLAS study: codes, names, scripts, families, corpus sizes.

Unique-token counts for en, ru, fr, zh, hi and sw are the paper's (Table C.1); the others are
set by hand to plausible MADLAD-400 magnitudes for a language of that resource level. They
only need to be realistic, not exact: they decide which runs repeat data.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    """One language of the catalogue."""

    code: str
    name: str
    script: str
    family: str
    unique_tokens: float
    in_matrix: bool = True
    """True for the languages of the transfer matrix (trained and evaluated); False for the
    languages that only fill the mixtures of capacity runs with K up to 50."""


_T, _B, _M = 1e12, 1e9, 1e6

LANGUAGES: tuple[Language, ...] = (
    Language("en", "English", "Latin", "Germanic", 2.8 * _T),
    Language("fr", "French", "Latin", "Romance", 363 * _B),
    Language("es", "Spanish", "Latin", "Romance", 420 * _B),
    Language("de", "German", "Latin", "Germanic", 390 * _B),
    Language("pt", "Portuguese", "Latin", "Romance", 190 * _B),
    Language("ru", "Russian", "Cyrillic", "Slavic", 705 * _B),
    Language("uk", "Ukrainian", "Cyrillic", "Slavic", 28 * _B),
    Language("zh", "Chinese", "Han", "Sinitic", 125 * _B),
    Language("ja", "Japanese", "Japanese", "Japonic", 160 * _B),
    Language("vi", "Vietnamese", "Latin", "Austroasiatic", 95 * _B),
    Language("hi", "Hindi", "Devanagari", "Indo-Aryan", 7.9 * _B),
    Language("sw", "Swahili", "Latin", "Bantu", 770 * _M),
    Language("he", "Hebrew", "Hebrew", "Semitic", 11 * _B),
    Language("ar", "Arabic", "Arabic", "Semitic", 36 * _B),
    Language("id", "Indonesian", "Latin", "Malayic", 48 * _B),
    Language("ms", "Malay", "Latin", "Malayic", 4.5 * _B),
    Language("ur", "Urdu", "Arabic", "Indo-Aryan", 2.1 * _B),
    Language("ps", "Pashto", "Arabic", "Iranian", 420 * _M),
    Language("fa", "Persian", "Arabic", "Iranian", 30 * _B),
    Language("no", "Norwegian", "Latin", "North Germanic", 9 * _B),
    Language("sv", "Swedish", "Latin", "North Germanic", 21 * _B),
    Language("da", "Danish", "Latin", "North Germanic", 12 * _B),
    Language("ca", "Catalan", "Latin", "Romance", 8 * _B),
    Language("it", "Italian", "Latin", "Romance", 180 * _B),
    Language("nl", "Dutch", "Latin", "Germanic", 85 * _B),
    Language("pl", "Polish", "Latin", "Slavic", 70 * _B),
    Language("cs", "Czech", "Latin", "Slavic", 38 * _B),
    Language("ro", "Romanian", "Latin", "Romance", 26 * _B),
    Language("bg", "Bulgarian", "Cyrillic", "Slavic", 14 * _B),
    Language("el", "Greek", "Greek", "Hellenic", 22 * _B),
    Language("tr", "Turkish", "Latin", "Turkic", 45 * _B),
    Language("hu", "Hungarian", "Latin", "Uralic", 24 * _B),
    Language("fi", "Finnish", "Latin", "Uralic", 16 * _B),
    Language("ko", "Korean", "Hangul", "Koreanic", 40 * _B),
    Language("th", "Thai", "Thai", "Kra-Dai", 15 * _B),
    Language("bn", "Bengali", "Bengali", "Indo-Aryan", 5 * _B),
    Language("ta", "Tamil", "Tamil", "Dravidian", 3 * _B),
    Language("tl", "Tagalog", "Latin", "Philippine", 1.6 * _B),
    # Languages that only fill capacity mixtures (K up to 50).
    Language("mr", "Marathi", "Devanagari", "Indo-Aryan", 1.2 * _B, in_matrix=False),
    Language("ne", "Nepali", "Devanagari", "Indo-Aryan", 900 * _M, in_matrix=False),
    Language("te", "Telugu", "Telugu", "Dravidian", 1.5 * _B, in_matrix=False),
    Language("am", "Amharic", "Ethiopic", "Semitic", 300 * _M, in_matrix=False),
    Language("yo", "Yoruba", "Latin", "Volta-Niger", 90 * _M, in_matrix=False),
    Language("zu", "Zulu", "Latin", "Bantu", 200 * _M, in_matrix=False),
    Language("et", "Estonian", "Latin", "Uralic", 4 * _B, in_matrix=False),
    Language("kk", "Kazakh", "Cyrillic", "Turkic", 1.8 * _B, in_matrix=False),
    Language("ka", "Georgian", "Georgian", "Kartvelian", 1.4 * _B, in_matrix=False),
    Language("hy", "Armenian", "Armenian", "Armenian", 1.3 * _B, in_matrix=False),
    Language("lt", "Lithuanian", "Latin", "Baltic", 6 * _B, in_matrix=False),
    Language("sk", "Slovak", "Latin", "Slavic", 9 * _B, in_matrix=False),
)

#: The pooled rest of a Unimax mixture (the other ~380 MADLAD-400 languages), the paper's
#: ``D_other``. A source only: never evaluated, never data-constrained.
OTHER = Language("other", "remaining MADLAD-400 languages", "mixed", "mixed", float("inf"))

BY_CODE: dict[str, Language] = {lang.code: lang for lang in (*LANGUAGES, OTHER)}
MATRIX_LANGUAGES: tuple[str, ...] = tuple(lang.code for lang in LANGUAGES if lang.in_matrix)
FILLER_LANGUAGES: tuple[str, ...] = tuple(lang.code for lang in LANGUAGES if not lang.in_matrix)

#: Crossover languages with published pretrain-vs-finetune crossovers at 2B (Sec. 5).
CROSSOVER_LANGUAGES = ("en", "ja", "pt", "de", "ru", "vi", "es", "zh")
#: Evaluation targets of the capacity (curse) runs: 8, as in the paper, all high-resource so
#: that no capacity run repeats a target's data.
CAPACITY_TARGETS = ("en", "fr", "es", "de", "pt", "ru", "zh", "ja")
#: The monolingual languages of the paper's Table 1.
TABLE1_LANGUAGES = ("en", "fr", "ru", "zh", "hi", "sw")
