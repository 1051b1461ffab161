# ruff: noqa: RUF001 (phrases in Greek and Cyrillic letters)
"""Instructions to ignore or override the model's instructions, or to reveal its system
prompt, in 29 languages (the rules of ``injection.py`` know English best, and some German,
French, Spanish and Italian).

For each language: the verbs (ignore, disregard, forget; reveal, show, print) and what they
act on (instructions, rules, the prompt, what came before), written here from the attack
classes, not taken from any dataset. A family fires when a verb and an object are in one
sentence, in either order (verb-final languages put the object first), at most ``_GAP``
characters apart. A language's pattern runs only when the text has one of its verbs as a
word (languages written with spaces) or a character of its script (the others), so an
ordinary text costs one set intersection and one script check.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ai_incidents.evaluation.text import folded, lowercase, word_set

_GAP = 40


class _Language(NamedTuple):
    override_verbs: str
    override_objects: str
    reveal_verbs: str
    reveal_objects: str
    script: str = ""
    """A character class of the language's script, for languages not written with spaces
    between words (or whose words take endings the word gate cannot list)."""


# Verbs and objects are "|"-separated stems, matched at the start of a word when the
# language has no script class.
_LANGUAGES = {
    "de": _Language(
        "ignoriere|ignorier|ignorieren|vergiss|vergessen|missachte|missachten|übergehe",
        "anweisung|befehl|regeln|vorgaben|instruktion|vorherig|bisherig|obig|oben",
        "zeig|zeige|gib|nenne|verrate|wiederhole|drucke",
        "systemprompt|system-prompt|systemanweisung|versteckten anweisung|geheimen anweisung",
    ),
    "fr": _Language(
        "ignore|ignorez|oublie|oubliez|néglige|négligez",
        "instruction|consigne|règle|directive|précéd|ci-dessus|plus haut",
        "révèle|révélez|montre|montrez|affiche|affichez|répète|répétez|imprime",
        "prompt système|prompt systeme|instructions système|instructions cachées|message système",
    ),
    "es": _Language(
        "ignora|ignore|ignoren|olvida|olvide|olviden|omite|omita",
        "instrucci|indicaci|reglas|directrices|órdenes|anterior|de arriba",
        "revela|revele|muestra|muestre|imprime|imprima|repite|repita",
        "prompt del sistema|prompt de sistema|instrucciones del sistema|instrucciones ocultas",
    ),
    "it": _Language(
        "ignora|ignorate|dimentica|dimenticate|trascura",
        "istruzion|regole|indicazion|direttiv|precedent|sopra",
        "rivela|rivelate|mostra|mostrami|stampa|ripeti",
        "prompt di sistema|istruzioni di sistema|istruzioni nascoste|messaggio di sistema",
    ),
    "pt": _Language(
        "ignore|ignora|ignorar|esqueça|esqueca|esquece|desconsidere|desconsidera",
        "instruç|instruc|regras|comandos|orientaç|diretrizes|prompt|anteriores|acima",
        "revele|revela|mostre|mostra|imprima|exiba",
        "prompt do sistema|prompt de sistema|instruções ocultas|instruções do sistema|seu prompt",
    ),
    "nl": _Language(
        "negeer|vergeet|negeren",
        "instructie|regels|opdracht|prompt|aanwijzing|vorige|hierboven",
        "toon|laat|geef|onthul|print",
        "systeemprompt|systeem prompt|verborgen instructies",
    ),
    "ru": _Language(
        "игнорируй|игнорируйте|проигнорируй|проигнорируйте|забудь|забудьте|пренебреги",
        "инструкц|указани|правил|команд|промпт|предыдущ|выше",
        "покажи|покажите|выведи|выведите|раскрой|раскройте|напечатай|повтори",
        "системный промпт|системные инструкции|системное сообщение|скрытые инструкции",
    ),
    "uk": _Language(
        "ігноруй|ігноруйте|проігноруй|забудь|забудьте",
        "інструкц|вказівк|правил|команд|промпт|попередн|вище",
        "покажи|покажіть|виведи|розкрий|повтори",
        "системний промпт|системні інструкції|приховані інструкції",
    ),
    "pl": _Language(
        "zignoruj|ignoruj|zignorujcie|zapomnij|zapomnijcie|pomiń",
        "instrukc|polece|zasad|regu|prompt|poprzedni|powyż",
        "ujawnij|pokaż|wypisz|wyświetl|powtórz",
        "prompt systemowy|instrukcje systemowe|ukryte instrukcje",
    ),
    "cs": _Language(
        "ignoruj|ignorujte|zapomeň|zapomeňte",
        "pokyn|instrukc|pravid|příkaz|prompt|předchozí|výše",
        "odhal|ukaž|vypiš|zobraz|zopakuj",
        "systémový prompt|systémové pokyny|skryté instrukce",
    ),
    "tr": _Language(
        "görmezden|unut|unutun|yoksay|umursama",
        "talimat|kural|komut|istem|önceki|yukarıdaki",
        "göster|yazdır|açıkla|tekrarla",
        "sistem istem|sistem talimat|gizli talimat|sistem prompt",
    ),
    "ar": _Language(
        "تجاهل|تجاهلي|انس|انسى|انسي|اهمل|أهمل|تخط",
        "تعليم|التعليم|الأوامر|أوامر|القواعد|قواعد|السابق|موجه",
        "اكشف|اعرض|أظهر|اطبع|كرر",
        "موجه النظام|تعليمات النظام|التعليمات المخفية|رسالة النظام",
    ),
    "fa": _Language(
        "نادیده|فراموش|اعتنا",
        "دستور|قوانین|قبلی|بالا|پرامپت",
        "فاش|نشان|چاپ|تکرار",
        "پرامپت سیستم|دستورالعمل سیستم|دستورالعملهای پنهان|دستورات پنهان",
    ),
    "he": _Language(
        "התעלם|התעלמי|התעלמו|שכח|שכחי|שכחו",
        "הוראות|ההוראות|כללים|הכללים|הנחיות|ההנחיות|הקודמות|למעלה",
        "חשוף|הצג|הדפס|חזור",
        "הנחיית המערכת|הוראות המערכת|ההוראות הנסתרות",
    ),
    "id": _Language(
        "abaikan|lupakan|acuhkan|hiraukan",
        "instruksi|perintah|aturan|petunjuk|sebelumnya|di atas",
        "tampilkan|tunjukkan|ungkapkan|cetak|ulangi",
        "prompt sistem|instruksi sistem|instruksi tersembunyi",
    ),
    "sv": _Language(
        "ignorera|glöm|strunta",
        "instruktion|regler|anvisning|tidigare|ovan",
        "visa|skriv|avslöja|upprepa",
        "systemprompt|systeminstruktioner|dolda instruktioner",
    ),
    "da": _Language(
        "ignorer|glem|ignorér",
        "instruks|regler|anvisning|tidligere|ovenfor",
        "vis|skriv|afslør|gentag",
        "systemprompt|systeminstruktioner|skjulte instruktioner",
    ),
    "ro": _Language(
        "ignoră|ignora|ignorați|uită|uitați",
        "instrucțiun|instrucţiun|instructiun|reguli|comenzi|anterioar|mai sus",
        "dezvăluie|arată|afișează|afişează|repetă",
        "promptul|instrucțiunile ascunse",
    ),
    "el": _Language(
        "αγνόησε|αγνοήστε|ξέχασε|ξεχάστε",
        "οδηγί|κανόν|εντολ|προηγούμεν|παραπάνω",
        "αποκάλυψε|δείξε|εμφάνισε|τύπωσε",
        "μήνυμα συστήματος|οδηγίες συστήματος|κρυφές οδηγίες",
    ),
    "hu": _Language(
        "hagyd|felejtsd|ignoráld|hagyja|felejtse",
        "utasítás|szabály|korábbi|fenti",
        "mutasd|írd|fedd|ismételd",
        "rendszerprompt|rendszerutasítás|rejtett utasítás",
    ),
    "fi": _Language(
        "ohita|unohda|sivuuta",
        "ohje|sääntö|aiemm|yllä",
        "näytä|tulosta|paljasta|toista",
        "järjestelmäkehote|järjestelmäohje|piilotetut ohjeet",
    ),
    "sw": _Language(
        "puuza|sahau|usifuate",
        "maagizo|maelekezo|sheria|awali|hapo juu",
        "onyesha|fichua|chapisha|rudia",
        "maagizo ya mfumo|maelekezo ya mfumo|maagizo yaliyofichwa",
    ),
    "vi": _Language(
        "bỏ qua|quên|phớt lờ|lờ đi|không tuân theo",
        "hướng dẫn|chỉ dẫn|chỉ thị|quy tắc|lệnh|trước đó|ở trên",
        "tiết lộ|hiển thị|in ra|cho tôi xem|lặp lại",
        "lời nhắc hệ thống|hướng dẫn hệ thống|chỉ dẫn ẩn|prompt hệ thống",
        "ạ-ỹđơư",
    ),
    "hi": _Language(
        "अनदेखा|नज़रअंदाज़|नजरअंदाज|उपेक्षा|भूल जा|ध्यान मत|ध्यान न",
        "निर्देश|नियम|आदेश|पिछले|पिछली|ऊपर",
        "बताओ|बताइए|दिखाओ|दिखाइए|प्रकट|छापो|दोहराओ",
        "सिस्टम प्रॉम्प्ट|सिस्टम प्रोम्प्ट|सिस्टम निर्देश|छिपे हुए निर्देश|छिपे निर्देश",
        "ऀ-ॿ",
    ),
    "bn": _Language(
        "উপেক্ষা|ভুলে যাও|ভুলে যান|অগ্রাহ্য",
        "নির্দেশ|নিয়ম|আদেশ|আগের|উপরের",
        "প্রকাশ|দেখাও|দেখান|ছাপাও",
        "সিস্টেম প্রম্পট|সিস্টেম নির্দেশ|লুকানো নির্দেশ",
        "ঀ-৿",
    ),
    "zh": _Language(
        "忽略|忽视|忽視|无视|無視|不要理会|不要理會|别管|忘记|忘記|忘掉|忘了|跳过|跳過|不要遵守|不再遵守",
        "指令|指示|规则|規則|提示词|提示詞|设定|設定|命令|上面的|上述",
        "告诉我|告訴我|输出|輸出|显示|顯示|打印|透露|泄露|重复|重複|展示",
        "系统提示|系統提示|系统指令|系統指令|系统消息|隐藏指令|隱藏指令|初始指令|系统设定",
        "一-鿿",
    ),
    "ja": _Language(
        "無視|忘れ|従わな|破棄",
        "指示|命令|ルール|プロンプト|上記",
        "表示|出力|教えて|見せて|明かして|繰り返",
        "システムプロンプト|システム指示|隠し指示|隠された指示|初期指示",
        "ぁ-ヿ",
    ),
    "ko": _Language(
        "무시|잊어|잊고|잊으|따르지",
        "지시|명령|규칙|프롬프트|지침",
        "공개|보여|출력|알려|반복",
        "시스템 프롬프트|시스템 지시|숨겨진 지시|시스템 메시지",
        "가-힯",
    ),
    "th": _Language(
        "ละเว้น|เพิกเฉย|ไม่ต้องสนใจ|ลืม|ไม่ต้องทำตาม",
        "คำสั่ง|กฎ|ข้างบน|ข้างต้น|คำแนะนำ",
        "เปิดเผย|แสดง|พิมพ์|บอก",
        "พรอมต์ระบบ|คำสั่งระบบ|คำสั่งที่ซ่อน",
        "ก-๛",
    ),
}
_SENTENCE = r"[^.!?。！？\n]"
# "New instructions:" and the like, opening a task of the attacker's.
_NEW_INSTRUCTIONS = (
    "neue anweisung|nouvelles instructions|nouvelle instruction|nuevas instrucciones"
    "|nueva instrucción|nuove istruzioni|nuova istruzione|novas instruções|nova instrução"
    "|nieuwe instructies|новые инструкции|новая инструкция|нові інструкції|nowe instrukcje"
    "|nové pokyny|yeni talimatlar|تعليمات جديدة|دستورالعمل‌های جدید|دستورالعملهای جدید"
    "|הוראות חדשות|नए निर्देश|নতুন নির্দেশ|新的指令|新指令|新的指示|新しい指示|새로운 지시"
    "|คำสั่งใหม่|instruksi baru|hướng dẫn mới|nya instruktioner|nye instruktioner"
    "|instrucțiuni noi|νέες οδηγίες|új utasítások|uudet ohjeet|maagizo mapya"
)
_NEW_INSTRUCTIONS_WORDS = frozenset(lowercase(folded(_NEW_INSTRUCTIONS)).replace("|", " ").split())
_NEW_INSTRUCTIONS_PATTERN = re.compile(
    "(?:"
    + "|".join(re.escape(lowercase(folded(p))) for p in _NEW_INSTRUCTIONS.split("|"))
    + r")\s{0,3}[:：]"
)


def _alternation(stems: str) -> str:
    return "|".join(re.escape(lowercase(folded(stem))) for stem in stems.split("|"))


def _pair(verbs: str, objects: str, spaced: bool) -> re.Pattern[str]:
    """Verb then object, or object then verb, within one sentence."""
    start = r"(?<!\w)" if spaced else ""
    verb, thing = f"{start}(?:{_alternation(verbs)})", f"{start}(?:{_alternation(objects)})"
    gap = f"{_SENTENCE}{{0,{_GAP}}}?"
    return re.compile(f"{verb}{gap}{thing}|{thing}{gap}{verb}")


class _Compiled(NamedTuple):
    gate_words: frozenset[str]
    script: re.Pattern[str] | None
    override: re.Pattern[str]
    reveal: re.Pattern[str]


def _compile(language: _Language) -> _Compiled:
    spaced = not language.script
    verbs = f"{language.override_verbs}|{language.reveal_verbs}"
    gate = frozenset(lowercase(folded(v)).split()[0] for v in verbs.split("|")) if spaced else ()
    return _Compiled(
        frozenset(gate),
        None if spaced else re.compile(f"[{language.script}]"),
        _pair(language.override_verbs, language.override_objects, spaced),
        _pair(language.reveal_verbs, language.reveal_objects, spaced),
    )


_COMPILED = {name: _compile(language) for name, language in _LANGUAGES.items()}
_ALL_GATE_WORDS = frozenset().union(*(c.gate_words for c in _COMPILED.values()))


def multilingual_families(text: str) -> dict[str, str]:
    """``{family: language}`` for the families (``instruction_override``,
    ``system_prompt_extraction``) whose verb and object ``text`` holds in some language,
    and ``task_switch`` (the phrase found) for a "new instructions:" heading. ``text`` is
    read as ``folded`` leaves it."""
    present = word_set(text)
    gated = not _ALL_GATE_WORDS.isdisjoint(present)
    heading = not _NEW_INSTRUCTIONS_WORDS.isdisjoint(present) or not text.isascii()
    if not gated and not heading:
        return {}
    lowered = lowercase(text)
    fired: dict[str, str] = {}
    if heading and (":" in lowered or "：" in lowered):
        match = _NEW_INSTRUCTIONS_PATTERN.search(lowered)
        if match:
            fired["task_switch"] = match.group()
    if not gated and text.isascii():
        return fired
    for name, compiled in _COMPILED.items():
        if compiled.script is None:
            if not gated or compiled.gate_words.isdisjoint(present):
                continue
        elif text.isascii() or not compiled.script.search(text):
            continue
        if "instruction_override" not in fired and compiled.override.search(lowered):
            fired["instruction_override"] = name
        if "system_prompt_extraction" not in fired and compiled.reveal.search(lowered):
            fired["system_prompt_extraction"] = name
    return fired
