"""High-recall crisis cues: a lexicon of patterns with spelling, idiom, negation and tense handling.

The text is normalised (lower case, leetspeak, stretched letters), idioms that merely sound violent
("this traffic is killing me") are blanked out, and it is split into clauses. A cue found in a clause
counts as *negated* when a negator precedes it in that clause ("I'm not suicidal"), as *past* when
the clause places it in the past ("years ago I tried to end my life") without a marker of now.
Only cues that are neither count towards `explicit` / `indirect`; the rest become features that the
trained classifier weighs (see docs/scoring.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --- normalisation ----------------------------------------------------------------------------------

_LEET = str.maketrans({"1": "i", "3": "e", "0": "o", "@": "a", "$": "s", "!": "i", "|": "l"})
_WORD_WITH_DIGITS = re.compile(r"\b(?=\w*[a-z])(?=\w*[0-9@$!|])[\w@$!|]+")


def normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    text = _WORD_WITH_DIGITS.sub(lambda m: m.group(0).translate(_LEET), text)
    text = re.sub(r"(\w)\1{2,}", r"\1", text)  # stretched letters: "diiie" -> "die"
    text = re.sub(r"\b(sewer ?slide|s\*icide|su\*cide)\b", "suicide", text)
    text = re.sub(r"\bun-?alive\b", "unalive", text)
    text = re.sub(r"\b(?:[a-z] ){3,}[a-z]\b", lambda m: m.group(0).replace(" ", ""), text)  # s u i c
    text = re.sub(r"\b(want|wanna|going|have|need|ready) 2\b", r"\1 to", text)
    text = re.sub(r"\b(gonna|gunna)\b", "going to", text)
    text = re.sub(r"\b(wanna)\b", "want to", text)
    text = re.sub(r"\b(would|could|should|did|does|do|is|are|was|were|have|has|ca|wo)nt\b", r"\1n't", text)
    text = re.sub(r"\b(im)\b", "i'm", text)
    text = re.sub(r"\b(ive)\b", "i've", text)
    return re.sub(r"\s+", " ", text).strip()


# --- idioms: blanked before matching so they can never fire a cue ----------------------------------

IDIOMS = [
    r"\b(is|are|'s|was|were|keeps|keep) (literally |absolutely |honestly |just |really )?killing me\b",
    r"\bkilling me (softly|slowly)\b",
    r"\b(could|would|'d) (just |literally )?die (of|from) (embarrassment|shame|laughter|laughing|boredom)\b",
    r"\b(die|died|dying|dead) (of |from )?laugh(ing|ter)?\b",
    r"\bdying (to|for)\b",
    r"\bto die for\b",
    r"\b(bored|scared|worried|frightened|tickled|loved) (me )?to death\b",
    r"\bdead (tired|serious|wrong|on my feet|beat|last|set|end)\b",
    r"\b(phone|battery|laptop|car|plant|plants|computer|charger|tv|headphones|vibe|party)"
    r"( is| has| was| just)? (dead|died|dying)\b",
    r"\b(killed|killing|kill|slayed|slaying) (it|the game|time|the vibe|the lights|the music)\b",
    r"\bsuicide (squad|doors|sprints?|runs?|mission|pact movie|king)\b",
    r"\bcut(ting)? (class|classes|corners|my hair|myself a (\w+ )?(slice|piece|break)|the cake|in line|ties)\b",
    r"\b(could|would) kill for (a|an|some)\b",
    r"\b(be|is|was) the death of me\b",
    r"\bover-?dos(ed|ing|e) on (coffee|caffeine|sugar|chocolate|netflix|tv|memes|candy|pizza|work)\b",
    r"\b(shoot|kill) me now\b",
    r"\bmy (mom|dad|mother|father|boss|teacher|wife|husband|partner|sister|brother) (is going to|will)"
    r" kill me\b",
    r"\b(i'll|i will|i'm going to|going to) kill (him|her|them|you) (if|when)\b",
    r"\b(i'm|i am) (so )?dead\b(?! inside)",
    r"\bdeadlines?\b",
    r"\bhang(ing)? (out|up|on|in there)\b",
    r"\bkill(ed|ing)? (a|the|that) (bug|process|spider|plant|mood|engine|song|workout|exam|interview)\b",
    r"\bjump(ing|ed)? off (the (couch|bed|diving board|high dive|stage))\b",
    r"\bcan't (wait|stop laughing)\b",
]
_IDIOM_RE = re.compile("|".join(f"(?:{p})" for p in IDIOMS))

# --- cue lexicon -------------------------------------------------------------------------------------

_SELF = r"(my ?self|meself)"
_OTHER = r"(him ?self|her ?self|them ?selves|them ?self|themself)"
SUICIDE = r"\bs(u|\*)?(i|\*)?(c|s)(i|\*)?d(e|al|ality)\b"

EXPLICIT = {
    "suicide": [
        rf"\b(kill|killing|kil|unalive|off|offing|end|ending) {_SELF}\b",
        r"\bkms\b",
        r"\b(end|ending|take|taking) (my|my own) life\b",
        r"\b(end|ending) it all\b",
        r"\bend (it|things|everything) (tonight|today|soon|now|for good)\b",
        r"\b(want|wanted|wanting|ready|going|planning|plan|trying) to die\b",
        r"\bwish (i|i'd)( had| was| were)? (never been born|been dead|dead|never born)\b",
        r"\b(if|and) i (didn't|did not|don't|wouldn't|never|not) wake up\b",
        r"\b(sleep|asleep) (forever|and not wake up|and never wake up)\b",
        r"\bdie in my sleep\b",
        r"\bpoint (of|in|to) (me )?(living|being alive|life|existing|going on)\b",
        r"\b(life|living|my life) (isn't|is not|ain't) worth (living|it)\b",
        r"\b(easier|better) (for everyone )?if i (just )?(wasn't|weren't|was not|were not|didn't "
        r"exist|was gone|were gone|died|was dead)\b",
        r"\bstop existing\b",
        r"\b(way|ways|how) to (die|kill myself|end it|end my life)\b",
        r"\b(going to|want to|decided to) end (mine|my own)\b",
        r"\b(think|thought|thinking) (about|of) (ending|end) (everything|it all|things|it)\b",
        r"\b(attempted|suicide attempt|my attempt)\b",
        r"\bgarage with the engine running\b",
        r"\b(standing|sitting|stood|sat) on (the )?(edge|ledge|bridge|roof|railing)\b",
        r"\bwish i (could|would) (just )?(die|disappear forever|not wake up|never wake up)\b",
        r"\bwish i (wouldn't|won't|didn't|did not) wake up\b",
        r"\b(better off|be better) (dead|without me)\b",
        r"\bdon't want to (live|be alive|exist|wake up|be here anymore|be here any more|go on)\b",
        r"\bnot sure (i|if i) want to (live|be alive|be here|keep going|go on)\b",
        r"\b(no|zero) (reason|point) (to|in) (live|living|being alive|going on|existing)\b",
        r"\bnothing (left )?to live for\b",
        SUICIDE,
        r"\b(hang|hanging|shoot|shooting|drown|drowning|poison|poisoning) myself\b",
        r"\b(jump|jumping) (off|in front of) (a|the|this|that) (bridge|roof|building|train|cliff|balcony)\b",
        r"\b(overdose|overdosing|od|o\.d\.)\b(?! on (coffee|caffeine|sugar))",
        r"\b(took|take|taking|swallowed|swallow) (all|a bunch of|a handful of|too many|(a |the )?whole"
        r" (bottle|box|pack|packet) of|every one of) (my |her |his |their |the |those |these )?"
        r"(pills|tablets|meds|sleeping pills)\b",
        r"\b(suicide|goodbye) (note|letter)\b",
        r"\bwr(ote|itten|iting) (a|my) (note|goodbye)\b",
    ],
    "self_harm": [
        rf"\b(cut|cutting|burn|burning|burnt|burned|hurt|hurting|harm|harming|hit|hitting|punish|"
        rf"punishing|scratch|scratching|scratched|starve|starving) {_SELF}\b",
        r"\buntil (it|i|they) (bleeds?|bled|bruises?)\b",
        r"\bcut(ting)? deeper\b",
        r"\bself[- ]?harm(ing|ed)?\b",
        r"\bslit(ting)? my wrists?\b",
        r"\bcut(ting)? (my|into my) (arms?|wrists?|legs?|thighs?|skin)\b",
        r"\b(relapsed|relapse) (on|into) (cutting|self[- ]?harm)\b",
        r"\burges? to (cut|hurt|harm|burn)\b",
    ],
    "third_person": [
        rf"\b(kill|killing|unalive|hurt|hurting|cut|cutting|harm|harming|end|ending|hang|shoot) {_OTHER}\b",
        r"\b(end|ending|take|taking) (his|her|their) (own )?life\b",
        r"\b(he|she|they) (wants?|wanted|said .{0,20}wants?) to die\b",
    ],
    "harm_to_others": [
        r"\b(going to|want to|wanna|will|plan to|planning to|about to) (kill|shoot|stab|hurt|strangle)"
        r" (him|her|them|someone|somebody|everyone|people|my (boss|wife|husband|dad|mom|father|"
        r"mother|neighbou?r|ex|roommate|kids?))\b(?! (if|when))",
        r"\b(bring|bringing|take|taking) a gun to (school|work)\b",
        r"\b(imagin|think|thought|fantasi)\w* (about |of )?(stabbing|killing|hurting|shooting|strangling|"
        r"poisoning|drowning) (my|him|her|them|someone|people)\b",
        r"\bcould (actually|really|honestly) kill (him|her|them|someone)\b",
        r"\bpoison(ing)? (him|her|them|my \w+|the \w+)\b",
    ],
    "danger_from_others": [
        r"\b(he|she|they|my (husband|wife|partner|boyfriend|girlfriend|dad|father|mom|mother|stepdad|ex))"
        r" (hits|hit|beats|beat|chokes|choked|strangled|punched|raped|threatened to kill|is going to"
        r" kill|will kill|is hurting|keeps hurting) me\b",
        r"\b(not|isn't|never) safe (at home|here|in my (house|home))\b",
        r"\bafraid (he|she|they)('ll| will| is going to) (kill|hurt) me\b",
        r"\b(breaking|kicking|banging on|trying to break) (down )?(the|my) door\b",
    ],
}

INDIRECT = [
    r"\b(giving|gave|give) (away )?(all )?(of )?my (things|stuff|belongings|possessions|"
    r"clothes|books|games|savings)( away)?\b",
    r"\b(giving|gave) away my\b",
    r"\b(said|saying|say|to say) (my )?(goodbye|goodbyes|bye)s? to (everyone|my|people|you all)\b",
    r"\bthis is (goodbye|my last (message|post))\b",
    r"\b(won't|will not|wont) be (around|here|alive|a (problem|burden))( for anyone)? (much longer|for long|"
    r"anymore|any more|tomorrow|next week|after)\b",
    r"\bdon't think i'll (be here|be around|make it) (next|tomorrow|much|for|through)\b",
    r"\b(when|if|once|after) i('m| am| was| were)? (not here|gone|dead)\b",
    r"\b(pills|meds|tablets|painkillers) (saved|stored|hidden|ready|in my hand)\b",
    r"\bgoing to do it (on|tonight|tomorrow|this|when|after)\b",
    r"\b(almost|nearly) did it\b",
    r"\b(my goodbyes|goodbye (messages?|letters?|notes?|texts?|post|video))\b",
    r"\bplanning my (own )?funeral\b",
    r"\b(decided|made up my mind)\b.{0,30}\b(i'm done|leaving for good|to end|it's time)\b",
    r"\bleaving for good\b",
    r"\bhow i'?d do it\b",
    r"\b(looking at|holding) the (pills|rope|gun|knife|blade|razor)s?\b",
    r"\b(no one|nobody|noone) (would|will|'d) (miss|notice|care if) (me|him|her)\b",
    r"\bonly way out\b",
    r"\b(look after|take care of|keep) my (cat|dog|kids|pets?|plants) (for good|forever|permanently)\b",
    r"\b(gun|shotgun|rifle|pistol) (out|loaded)\b",
    r"\b(everyone|they|people|my family|the world|you all) (would|will|'d) be better off\b",
    r"\b(i'm|i am|being) (just )?a burden\b",
    r"\bburden (to|on) (everyone|my family|them|you)\b",
    r"\b(no|not any) way out\b",
    r"\bcan't (take|handle|bear|stand) (it|this|the pain|living|life) any ?more\b",
    r"\bcan't (go on|keep going|do this any ?more)\b",
    r"\b(stockpil|sav|hoard|collect)(ed|ing|e) (up )?(my |the )?(sleeping |pain ?)?(pills|meds|tablets|"
    r"killers)\b",
    r"\b(bought|got|have|found) (a|the) (rope|gun|noose|razor|blades?)\b",
    r"\b(take|look after|feed) (care of )?my (cat|dog|kids|pets?) (when|after|once) i'?m gone\b",
    r"\bwhen i'?m gone\b",
    r"\b(disappear|vanish) (forever|for good)\b",
    r"\b(made|wrote|writing|updated) (a|my) will\b",
    r"\bdon't (see|know) (the point|how to (go on|keep going))\b",
    r"\b(pointless|hopeless|worthless) (to|and) (keep|live|go on|living)\b",
    r"\bwant (it|everything|the pain) to (stop|end) (forever|for good|permanently)\b",
    r"\bnever wake up\b",
    r"\b(urges?|thoughts?) (are|have|has) (come |came )?back\b",
    r"\b(pills|bridge|rope|blade|razor) (is|are) (ready|waiting|right here)\b",
    r"\b(tonight|tomorrow) (is|will be) the (night|day|end)\b",
]

NEGATORS = re.compile(
    r"\b(not|never|no|don't|do not|didn't|did not|won't|will not|wouldn't|would not|isn't|aren't|"
    r"ain't|no longer|nor|without|stopped|quit|neither|have no|had no|zero|nobody|no one|"
    r"asked (me )?(if|whether))\b"
)
PAST = re.compile(
    r"\b(used to|years ago|months ago|a long time ago|long ago|when i was (a |young|little|\d+|in)|"
    r"my (old|previous|past|first) (suicide )?attempt|"
    r"in (high school|middle school|college|my teens|my twenties|the past)|as a (teen|teenager|kid)|"
    r"back (then|in)|at (\d+|fifteen|sixteen|seventeen)|a decade ago|once upon|survived|recovered)\b"
)
NOW = re.compile(
    r"\b(again|still|now|lately|these days|tonight|today|right now|anymore|any more|this week|"
    r"yesterday|last night|recently|(is|are|came|coming|come) back|currently)\b"
)
TOPIC = re.compile(
    r"\b(essay|research|paper|thesis|documentary|article|movie|film|book|novel|series|podcast|"
    r"for (my |a )?(\w+ )?class|lecture|statistics|stats|warning signs|prevention|awareness|training|"
    r"course|song|lyrics|character|fiction|difference between|asking about|first aid|the word|"
    r"learn (more )?about|what is|what are|is it true|volunteer)\b"
)
CLAUSE_SPLIT = re.compile(r"[.;!?\n]+|,\s*|\s+\b(but|though|although|however|yet|and)\b\s+")

_EXPLICIT_RE = {k: [re.compile(p) for p in v] for k, v in EXPLICIT.items()}
_INDIRECT_RE = [re.compile(p) for p in INDIRECT]
NEGATION_WINDOW = 6  # words before a cue in which a negator negates it


@dataclass(frozen=True)
class CrisisCues:
    """What the lexicon found in one text. Counts are over clauses."""

    explicit: int  # un-negated, current explicit cues (suicide, self-harm, harm, danger)
    indirect: int  # un-negated, current indirect cues (giving things away, goodbyes, burden)
    negated: int  # cues preceded by a negator in their clause
    past: int  # cues placed in the past without a marker of now
    idioms: int  # idioms blanked out
    topic: int  # cues in a clause about media, study or statistics
    categories: tuple[str, ...]  # categories of the explicit cues

    @property
    def any_current(self) -> bool:
        return self.explicit > 0 or self.indirect > 0

    def as_features(self) -> list[float]:
        """Fixed-order features for the classifier (capped so one long text cannot dominate)."""
        cats = set(self.categories)
        return [
            min(self.explicit, 2) / 2,
            min(self.indirect, 2) / 2,
            min(self.negated, 2) / 2,
            min(self.past, 2) / 2,
            min(self.idioms, 2) / 2,
            min(self.topic, 2) / 2,
            float("suicide" in cats or "self_harm" in cats),
            float("third_person" in cats),
            float("harm_to_others" in cats or "danger_from_others" in cats),
        ]


N_CUE_FEATURES = 9


# "I wouldn't care if I didn't wake up": a negated indifference verb asserts, it does not negate.
_NOT_NEGATING = re.compile(r"\b(wouldn't|don't|didn't|would not|do not|won't) (care|mind)\b")


def _negated(clause: str, start: int) -> bool:
    before = " ".join(clause[:start].split()[-NEGATION_WINDOW:])
    return NEGATORS.search(_NOT_NEGATING.sub(" ", before)) is not None


def without_idioms(text: str) -> str:
    """The normalised text with idioms blanked: what the crisis classifier embeds, so that
    "this traffic is killing me" reads as "this traffic" to it too."""
    return re.sub(r"\s+", " ", _IDIOM_RE.sub(" ", normalise(text))).strip()


def find_cues(text: str) -> CrisisCues:
    norm = normalise(text)
    norm, idioms = _IDIOM_RE.subn(" ", norm)
    explicit = indirect = negated = past = topic = 0
    categories: list[str] = []
    for clause in CLAUSE_SPLIT.split(norm):
        if not clause or not clause.strip():
            continue
        in_past = PAST.search(clause) is not None and NOW.search(clause) is None
        about_topic = TOPIC.search(clause) is not None
        hits: list[tuple[str, int]] = []
        for category, patterns in _EXPLICIT_RE.items():
            hits += [(category, m.start()) for p in patterns for m in p.finditer(clause)]
        hits += [("indirect", m.start()) for p in _INDIRECT_RE for m in p.finditer(clause)]
        for category, start in hits:
            if _negated(clause, start):
                negated += 1
            elif in_past:
                past += 1
            elif about_topic and category != "danger_from_others":
                topic += 1
            elif category == "indirect":
                indirect += 1
            else:
                explicit += 1
                categories.append(category)
    return CrisisCues(explicit, indirect, negated, past, idioms, topic, tuple(sorted(set(categories))))
