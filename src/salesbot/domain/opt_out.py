"""Recognising a prospect who asks not to be written to again.

An opt-out ends the conversation for good, so the detector reads a request to stop being
contacted, not a lack of interest ("не интересно", "дорого" are objections the script
handles), nor a request about *how* or *when* we write ("пишите короче", "don't write in
caps", "не пишите до понедельника": a time-bound pause is not an opt-out). The model's
`opt_out` outcome remains the second path for what these rules miss.

A message is read sentence by sentence: a contact verb (писать, присылать, спамить,
беспокоить, write, text, spam, bother, …) after a stop operator (не, хватит, перестаньте,
stop, don't, …) counts unless a style, timing, channel or third-party word follows it; set
phrases (unsubscribe, отстаньте, удалите мой номер, leave me alone) count unless negated; a
bare "stop" counts when the rest of the message is only complaints or filler. Quoted text,
hypotheticals ("если я скажу стоп…") and reported negations ("I never said stop") do not.
"""

from __future__ import annotations

import re
from typing import Protocol


class OptOutDetector(Protocol):
    def is_opt_out(self, text: str) -> bool: ...


def _any(*parts: str) -> str:
    return "(?:" + "|".join(parts) + ")"


_RU_VERB = _any(
    r"(?:на)?писать",
    r"(?:на)?пиши(?:те)?",
    r"присыла(?:ть|й|йте)",
    r"присла(?:ть)",
    r"слать",
    r"шли(?:те)?",
    r"отправля(?:ть|й|йте)",
    r"(?:за)?спам(?:ить|ь|ьте|ите)",
    r"беспоко(?:ить|й|йте)",
    r"(?:по)?тревож(?:ить|ь|ьте)",
    r"донима(?:ть|й|йте)",
    r"достава(?:ть|й|йте)",
    r"надоеда(?:ть|й|йте)",
    r"докуча(?:ть|й|йте)",
    r"флуд(?:ить|и|ите)",
    r"закидыва(?:ть|й|йте)",
    r"дерга(?:ть|й|йте)",
    r"связыва(?:ться|йся|йтесь)",
    r"строч(?:ить|и|ите)",
    r"рассыла(?:ть|й|йте)",
)
_EN_VERB = _any(
    r"writ(?:e|ing)",
    r"messag(?:e|ing)",
    r"text(?:ing)?",
    r"contact(?:ing)?",
    r"spam(?:ming)?",
    r"send(?:ing)?",
    r"e?mail(?:ing)?",
    r"bother(?:ing)?",
    r"pester(?:ing)?",
    r"flood(?:ing)?",
    r"ping(?:ing)?",
    r"dm(?:ing)?",
    r"harass(?:ing)?",
    r"bug(?:ging)?",
    r"reach(?:ing)?\s+out",
    r"hit(?:ting)?\s+me\s+up",
)
_OPERATOR = _any(
    r"не\s+надо",
    r"не\s+нужно",
    r"не\s+стоит",
    r"не\s+смей(?:те)?",
    r"больше\s+не",
    r"не",
    r"хватит",
    r"прекрати(?:те)?",
    r"перестань(?:те)?",
    r"завязывай(?:те)?",
    r"достаточно",
    r"сколько\s+можно",
    r"stop",
    r"quit",
    r"cease",
    r"don'?t",
    r"do\s+not",
    r"never",
    r"enough",
    r"not\s+to",
)
_FILLER = _any(
    r"мне",
    r"нам",
    r"меня",
    r"сюда",
    r"больше",
    r"пожалуйста",
    r"уже",
    r"вы",
    r"никогда",
    r"вообще",
    r"же",
    r"ну",
    r"тут",
    r"здесь",
    r"ещё",
    r"еще",
    r"плиз",
    r"ничего",
    r"мне,",
    r"me",
    r"us",
    r"please",
    r"ever",
    r"again",
    r"just",
    r"all",
    r"kindly",
    r"you",
    r"to",
)
_VERB_AFTER_OPERATOR = re.compile(
    rf"(?<!\w){_OPERATOR}(?:\s+{_FILLER}){{0,3}}\s+(?P<verb>{_RU_VERB}|{_EN_VERB})(?!\w)"
)
# What follows the verb that makes the request about style, timing, channel or someone else.
_QUALIFIER = re.compile(
    r"(?<!\w)"
    + _any(
        # style and frequency
        r"так(?:ие|ое|ой|им|ими|ую)?(?!\s+(?:что|как))(?!\w)",
        r"столько",
        r"длинн\w*",
        r"длинно",
        r"коротк\w*",
        r"короче",
        r"капс\w*",
        r"заглавн\w*",
        r"больш\w+\s+букв\w*",
        r"официальн\w*",
        r"формальн\w*",
        r"на\s+вы",
        r"на\s+ты",
        r"по-?английск\w*",
        r"по-?русск\w*",
        r"на\s+английском",
        r"на\s+русском",
        r"часто",
        r"много",
        r"эмодзи",
        r"смайл\w*",
        r"ошибк\w*",
        r"шаблон\w*",
        r"ерунд\w*",
        r"глупост\w*",
        r"простын\w*",
        r"in\s+(?:caps|capitals|all\s+caps|uppercase|english|russian)",
        r"such",
        r"so\s+(?:long|much|many|often|formal)",
        r"like\s+(?:that|this|a)",
        r"long\s+(?:messages|texts)",
        r"essays?",
        r"walls?\s+of\s+text",
        r"emojis?",
        r"often",
        r"formal\w*",
        r"caps",
        # timing
        r"до\s+(?:понедельник|вторник|сред|четверг|пятниц|суббот|воскресен|завтр|конца|"
        r"следующ|нового|обеда|вечера|утра|выходн|праздник|январ|феврал|март|апрел|ма[яй]|"
        r"июн|июл|август|сентябр|октябр|ноябр|декабр|\d|тех\s+пор|осени|весны|лета|зимы)\w*",
        r"через",
        r"пока(?!\W*$)",
        r"сегодня",
        r"завтра",
        r"на\s+этой\s+неделе",
        r"(?:в|по)\s+выходн\w*",
        r"ночью",
        r"по\s+ночам",
        r"утром",
        r"по\s+утрам",
        r"вечером",
        r"по\s+вечерам",
        r"позже",
        r"в\s+ближайш\w*",
        r"какое-?то\s+время",
        r"в\s+(?:не)?рабочее",
        r"после\s+\d",
        r"раньше\s+\d",
        r"в\s+отпуск\w*",
        r"неделю",
        r"месяц\w*",
        r"today",
        r"tonight",
        r"until",
        r"till",
        r"til",
        r"before\s+\d",
        r"this\s+(?:week|month|weekend)",
        r"on\s+weekends?",
        r"at\s+(?:the\s+)?weekends?",
        r"over\s+the\s+weekend",
        r"at\s+night",
        r"in\s+the\s+(?:morning|evening)",
        r"for\s+(?:now|a\s+while|a\s+week|a\s+month|the\s+moment|a\s+few|\d)",
        r"next\s+(?:week|month)",
        r"later",
        r"after\s+(?:\d|hours|work|midnight)",
        r"yet",
        r"in\s+a\s+(?:week|month|few)",
        r"at\s+\d",
        r"during",
        # another channel, another person
        r"на\s+почту",
        r"по\s+почте",
        r"на\s+(?:e-?mail|имейл|емейл|мейл)",
        r"в\s+(?:whatsapp|ватсап|вотсап|вайбер|viber|личку)",
        r"instead",
        r"by\s+email",
        r"on\s+whatsapp",
        r"ему",
        r"ей",
        r"him",
        r"her",
        r"(?:\w+\s+)?\d\w*",
        r"(?:моему|моей|моим|my)\s+(?:\w+\s+)?(?:коллег|начальн|руковод|жен|муж|boss|manager|"
        r"colleague|wife|husband|assistant|секретар|сотрудник|team)\w*",
    )
    + r"(?!\w)"
)
# "now"/"сейчас" make a plain "не пишите" a pause; after "stop"/"хватит" they only insist.
_NOW = re.compile(r"(?<!\w)(?:сейчас|now|right\s+now)(?!\w)")
_INSISTING = re.compile(r"^(?:хватит|прекрати|перестань|завязывай|stop|quit|cease|enough|сколько)")
_SEND_VERB = re.compile(r"^(?:send|присыла|присла|слать|шли|отправля)")
_MESSAGE_NOUN = re.compile(
    r"^(?:(?:мне|нам|больше|пожалуйста|уже|ещё|еще|никаких|ваши|свои|эти|me|us|any|more|"
    r"anymore|these|this|those|your|the)\s+)*"
    r"(?:$|\W|сообщени|рассылк|спам|предложени|реклам|письм|смс|ничего|это|эти|messages|texts|"
    r"spam|offers|ads|stuff|emails|newsletters|promo|junk|this|these|that|anything|anymore)"
)
_NEGATED_STOP = re.compile(
    r"(?<!\w)(?:don'?t|do\s+not|never|didn'?t|did\s+(?:you|they)|why\s+did\s+you|не)\s+(?:\w+\s+)?$"
)
_STRONG = re.compile(
    r"(?<!\w)"
    + _any(
        r"отпиши(?:те)?(?:\s+(?:меня|нас|пожалуйста))*(?:\s+от\b|\s*$|\s+(?:меня|нас))",
        r"отпиши(?:те)?\s+(?:меня|нас)",
        r"отпиш(?:ись|итесь)(?=\s*(?:от\b|$))",
        r"(?:хочу|хотел\w*|прошу|желаю|дайте|как|можно)\s+(?:мне\s+)?(?:бы\s+)?отписаться"
        r"(?!\s+от\s+(?!(?:вас|ваш\w*|эт\w*|рассылк\w*|сообщени\w*|спам\w*)))",
        r"отписываюсь",
        r"отстан(?:ь|ьте)",
        r"отвяж(?:ись|итесь)",
        r"отвали(?:те)?",
        r"отцепи(?:сь|тесь)",
        r"удали(?:те)?\s+(?:мой\s+(?:номер|контакт|телефон)|мои\s+(?:данные|контакты)|"
        r"меня(?:\s+из|\s+от|\s*$)|нас\s+из)",
        r"(?:убери|исключи|вычеркни)(?:те)?\s+меня",
        r"забудьте\s+(?:мой\s+номер|обо\s+мне|про\s+меня)",
        r"(?:в\s+)?черный\s+список",
        r"заблокиру(?:ю|ем)",
        r"пожалуюсь",
        r"(?:кину|отправлю|добавлю|помечу|отмечу|занесу)\s+(?:вас\s+)?в\s+спам",
        r"не\s+(?:хочу|желаю)\s+(?:больше\s+)?(?:получать|видеть)\s+(?:ваш\w*\s+|эт\w*\s+|"
        r"никаких\s+)?(?:сообщени|рассылк|спам|письм)\w*",
        r"(?:больше\s+)?никаких\s+(?:больше\s+)?(?:сообщений|писем|рассылок)",
        r"(?:^|please\s+|i\s+(?:want|would\s+like|wish|need)\s+to\s+|i'd\s+like\s+to\s+|"
        r"let\s+me\s+|how\s+(?:do|can)\s+i\s+)unsubscribe",
        r"unsubscribe\s+(?:me|us)",
        r"unsubscribe\W*$",
        r"(?:^|i\s+(?:want\s+to\s+)?|please\s+|let\s+me\s+)opt[\s-]?out",
        r"opt[\s-]?me\s+out",
        r"leave\s+(?:me|us)\s+alone",
        r"leave\s+me\s+be",
        r"go\s+away",
        r"get\s+lost",
        r"(?:piss|f\w*)\s+off",
        r"remove\s+(?:me|us|my\s+(?:number|contact|details|data))",
        r"take\s+me\s+off",
        r"delete\s+my\s+(?:number|contact|data|details)",
        r"lose\s+my\s+number",
        r"forget\s+my\s+number",
        r"no\s+more\s+(?:messages|texts|spam|emails)",
        r"(?:don'?t|do\s+not)\s+want\s+(?:any\s+more\s+|more\s+|your\s+|these\s+)?(?:messages|"
        r"texts|spam|emails)",
        r"(?:don'?t|do\s+not)\s+want\s+to\s+(?:receive|get)\s+(?:any\s+more\s+|more\s+|your\s+)?"
        r"(?:messages|texts|spam|emails)",
        r"report\s+(?:you|this|as\s+spam)",
        r"(?:i'?ll|i\s+will|gonna)\s+block",
        r"block\s+(?:you|this\s+(?:number|account))",
    )
)
_COMPLAINT = re.compile(
    r"(?<!\w)"
    + _any(
        r"(?:это|опять|снова|очередной|какой-?то|ваш|сплошной|один)\s+спам(?![\w-])(?!\s*\?)",
        r"^спам\W*$",
        r"спамер\w*",
        r"спамите",
        r"(?:this\s+is|it'?s|that'?s|more|stop\s+the)\s+spam(?!\w)(?!\s*\?)",
        r"^spam\W*$",
        r"spammers?",
        r"вы\s+(?:мне\s+)?(?:уже\s+)?(?:надоел|достал|задолбал|заколебал)\w*",
        r"(?:надоел|достал|задолбал)\w*\s+(?:уже\s+)?(?:со\s+|с\s+)?(?:своими|вашими|ваши)",
        r"(?:sick|tired)\s+of\s+(?:your|these|this|the)\s+(?:messages|texts|spam)",
        r"you(?:'re|\s+are)\s+(?:so\s+)?(?:annoying|spamming)",
    )
)
_COMPLAINT_BLOCKER = re.compile(r"(?<!\w)(?:думал\w*|thought|казалось)(?!\w)")
_STOP_CLAUSE = re.compile(
    r"^(?:please\s+|пожалуйста\s+|ну\s+|вс[её]\s+|все\s+)?"
    r"(?:stop(?:\s+it|\s+this|\s+that)?|стоп|хватит|enough|прекратите|прекрати|перестаньте|"
    r"перестань|quit\s+it|cut\s+it\s+out|довольно|харэ|хорош)"
    r"(?:\s+(?:пожалуйста|please|уже|now|already|же))*$"
)
_SOFT_COMPLAINT = re.compile(
    r"(?<!\w)(?:не\s+интересно|неинтересно|not\s+interested|не\s+надо|не\s+нужно|no\s+thanks|"
    r"не\s+хочу|don'?t\s+want|надоел\w*|достал\w*|spam|спам|annoying)(?!\w)"
)
_FILLER_CLAUSE = re.compile(
    r"^(?:нет|no|спасибо|thanks|thank\s+you|please|пожалуйста|ok|ок|okay|ладно|вс[её]|уже|блин|"
    r"ну|слушайте|listen|seriously|серь[её]зно|again|опять|\s)*$"
)
_HYPOTHETICAL = re.compile(
    r"(?<!\w)(?:если|if|what\s+if|а\s+вдруг|in\s+case|в\s+случае|whenever)(?!\w)"
    r"(?!\s+(?:you\s+don'?t\s+mind|вам\s+не\s+сложно|не\s+сложно|можно|possible|you\s+could|"
    r"не\s+трудно))"
)
_THREAT = re.compile(r"(?<!\w)(?:заблокиру|пожалуюсь|report|block)\w*")
_REPORTED_NEGATION = re.compile(
    r"(?<!\w)(?:never\s+said|didn'?t\s+say|not\s+asking|не\s+говорил\w*|не\s+просил\w*|"
    r"не\s+прошу|я\s+не\s+сказал\w*|не\s+имел\w*\s+в\s+виду|didn'?t\s+mean)(?!\w)"
)
_NEGATION_BEFORE = re.compile(
    r"(?<!\w)(?:не|don'?t|do\s+not|never|no\s+need\s+to|не\s+надо|не\s+нужно|not)\s+(?:\w+\s+){0,2}$"
)
_QUOTED = re.compile(r"«[^»]*»|“[^”]*”|\"[^\"]*\"|„[^“”]*[“”]")
_OWN_QUOTE = re.compile(
    r"(?:я\s+же\s+(?:сказал|просил|писал)\w*|i\s+(?:said|told\s+you|asked))\W*$"
)
# Asked to be written to elsewhere: "не пишите сюда, пишите на почту".
_REDIRECT = re.compile(
    r"(?<!\w)(?:(?:на)?пишите|write|text|message)\s+(?:мне\s+|me\s+)?(?:на|в|по|on|at|to|via)\s+"
    r"(?:почт|e-?mail|мейл|whatsapp|ватсап|телеграм|my\s+email)|email\s+me|instead"
)
_SENTENCE = re.compile(r"[^.!?;\n]+[.!?;\n]*")
_CLAUSE = re.compile(r"[.,!?;:\n—–]+|\s-\s")
_SPACES = re.compile(r"\s+")


def _normalize(text: str) -> str:
    text = text.lower().replace("ё", "е").replace("’", "'").replace("`", "'")
    return _SPACES.sub(" ", text).strip()


def _unquote(text: str) -> str:
    """Drop quoted words, unless the prospect quotes their own earlier request."""

    def keep_or_drop(match: re.Match[str]) -> str:
        if _OWN_QUOTE.search(text[: match.start()]):
            return " " + match.group(0)[1:-1] + ". "
        return " "

    return _QUOTED.sub(keep_or_drop, text)


def _verb_request(sentence: str) -> bool:
    for match in _VERB_AFTER_OPERATOR.finditer(sentence):
        if _NEGATED_STOP.search(sentence[: match.start()]):
            continue  # "don't stop writing", "не перестаньте"
        after = sentence[match.end() :]
        window = re.split(r"[,](?!\s*(?:пожалуйста|please|плиз|pls))", after, maxsplit=1)[0]
        window = " ".join(window.split()[:6])
        before = " ".join(sentence[: match.start()].split()[-3:])
        if _QUALIFIER.search(window) or _QUALIFIER.search(before):
            continue
        if not _INSISTING.match(match.group(0)) and (_NOW.search(window) or _NOW.search(before)):
            continue
        if _SEND_VERB.match(match.group("verb")) and not _MESSAGE_NOUN.match(after.strip()):
            continue  # "don't send me the contract"
        return True
    return False


def _strong(sentence: str) -> bool:
    for match in _STRONG.finditer(sentence):
        if not _NEGATION_BEFORE.search(sentence[: match.start()]):
            return True
    return False


def _sentence_opts_out(sentence: str, *, redirected: bool) -> bool:
    if _REPORTED_NEGATION.search(sentence):
        return False
    if _HYPOTHETICAL.search(sentence):
        return bool(_THREAT.search(sentence)) and _strong(sentence)
    if _strong(sentence) or (_verb_request(sentence) and not redirected):
        return True
    return bool(_COMPLAINT.search(sentence)) and not _COMPLAINT_BLOCKER.search(sentence)


def _bare_stop(text: str) -> bool:
    """A "stop" standing alone, with nothing else said but complaints or filler."""
    clauses = [c.strip() for c in _CLAUSE.split(text) if c and c.strip()]
    if not any(_STOP_CLAUSE.match(c) for c in clauses):
        return False
    rest = [c for c in clauses if not _STOP_CLAUSE.match(c)]
    if any(_COMPLAINT.search(c) for c in rest):
        return True
    return all(_FILLER_CLAUSE.match(c) or _SOFT_COMPLAINT.search(c) for c in rest)


class KeywordOptOutDetector:
    """Reads RU and EN requests to stop being contacted; see the module's docstring."""

    def is_opt_out(self, text: str) -> bool:
        normalized = _unquote(_normalize(text))
        if _bare_stop(normalized):
            return True
        redirected = bool(_REDIRECT.search(normalized))
        return any(
            _sentence_opts_out(m.group(0).strip(" .!?;\n"), redirected=redirected)
            for m in _SENTENCE.finditer(normalized)
        )
