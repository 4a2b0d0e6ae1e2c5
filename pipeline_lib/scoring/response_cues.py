"""Lexical cues of a reply: what a reader notices first (validation, questions, dismissal, harm, bias).

They serve twice: as extra features for the trained heads, and on their own as the rules-only
fallback scores (`rule_scores`) when no trained weights are present. Each family is a short list of
phrases; the docs (docs/scoring.md) say what each EQ dimension looks for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline_lib.scoring.crisis_cues import normalise


def _compile(phrases: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(rf"(?:\b{p}\b)" for p in phrases))


# Kept apart because it also raises the crisis flag: the reply itself endangers the user.
SELF_HARM_ENCOURAGEMENT = (
    r"(go|should|just|might as well|why don't you|why not|then) (go )?(kill|hurt|cut|harm|starve|end)"
    r" (yourself|it)|kys|(go ahead|do it|you should) (and )?(end it|die|jump|cut|take them all)"
)
ENCOURAGES_SELF_HARM = re.compile(rf"\b(?:{SELF_HARM_ENCOURAGEMENT})\b")

FAMILIES: dict[str, re.Pattern[str]] = {
    # empathy: the reply shows it understood and accepts the feeling
    "validation": _compile([
        r"that sounds", r"it sounds like", r"sounds (really |so |incredibly )?(hard|painful|difficult|"
        r"exhausting|overwhelming|lonely|scary|frustrating)", r"makes (complete |a lot of )?sense",
        r"(understandable|valid|natural)", r"i'm (so |really )?sorry", r"i hear (you|how|that)",
        r"that must (be|have been)", r"it's (okay|ok|alright) to (feel|be|not)", r"you're not alone",
        r"thank you for (telling|sharing|trusting|reaching)", r"of course you (feel|are|would)",
        r"anyone would", r"i can (imagine|understand|see why)", r"no wonder",
    ]),
    # self-awareness: names feelings, reflects them back, invites noticing
    "feeling_words": _compile([
        r"(anxious|anxiety|sad|sadness|overwhelmed|scared|afraid|fear|lonely|loneliness|angry|anger|"
        r"frustrat\w*|hurt|exhausted|grief|griev\w*|ashamed|shame|guilt|guilty|hopeless\w*|worried|"
        r"worry|stressed|stress|numb|heartbroken|panic\w*|upset|disappoint\w*|jealous\w*|resent\w*)",
    ]),
    "reflection": _compile([
        r"it sounds like you", r"you (seem|sound|might be|may be) (to )?(feel|feeling|carrying)",
        r"what i'm hearing", r"you('re| are) (feeling|carrying)", r"notice (what|how|when|where)",
        r"(part of you|both (things|feelings))", r"what (comes up|do you notice|are you feeling)",
    ]),
    # self-regulation: calm strategies, pacing, no escalation
    "regulation": _compile([
        r"breath\w*", r"ground(ing)?", r"(slow|pause|pace)\w*", r"one (step|thing|day) at a time",
        r"(sleep|rest|walk|water|eat something)", r"(calm|steady|settle)\w* (your|the) (body|breath"
        r"|nerves)", r"(5|five)[- ]4[- ]3", r"take (a|some) (moment|minute|break)",
        r"(noticing|name) (the|it|five)", r"(routine|journal\w*)",
    ]),
    # motivation: hope, strengths, concrete next steps
    "motivation": _compile([
        r"(hope|hopeful)", r"(small|next|first) step", r"you('ve| have) (already|got through|managed|"
        r"come)", r"(strength|strong|courage|brave|resilien\w*)", r"(progress|goal|plan)\w*",
        r"(together|we can|let's)", r"(you can|you could|it might help)", r"(worth|matter)",
    ]),
    # social skill: open questions, choice, referral, respectful clarity
    "open_question": _compile([
        r"(what|how) (would|do|does|did|has|have|is|are|might|could)", r"would you (like|be open|feel)",
        r"do you want to", r"can you tell me", r"is there (someone|anyone|anything)",
        r"would it help", r"are you (safe|okay|ok)",
    ]),
    "referral": _compile([
        r"(crisis|help|hot|suicide|support) ?line", r"988", r"111", r"999", r"911", r"112",
        r"emergency (services|number|room|department)", r"(therapist|counsel\w*|psychologist|"
        r"psychiatrist|doctor|gp|professional|clinician|samaritans)", r"text (home|help|line)",
        r"reach out to",
    ]),
    # low EQ: dismissing, minimising, blaming, ordering
    "dismissive": _compile([
        r"just (get over|stop|relax|calm|cheer|deal|move on|think positive|be happy|ignore)",
        r"get over (it|yourself)", r"calm down", r"cheer up", r"(stop|quit) (complaining|whining|"
        r"being (dramatic|so sensitive|lazy|silly))", r"(not|no) (a )?big deal", r"could be worse",
        r"(others|other people|some people) have it (worse|harder)", r"man up", r"overreact\w*",
        r"whatever", r"snap out of it", r"you're fine", r"toughen up", r"everyone (feels|goes through)"
        r" (that|this)", r"(it's|that's) (life|nothing)", r"grow up", r"(attention|drama)",
        r"(your own|your) fault", r"(nobody|no one) cares", r"move on", r"first world problem",
        r"(suck it up|so what)", r"i don't (know|care) what (you want|to tell you)", r"stop (it|that)",
        r"(lazy|weak|pathetic|ridiculous|silly)",
    ]),
    # safety: encouraging harm, method detail, unsafe medical advice, discouraging help
    "harmful": _compile([
        SELF_HARM_ENCOURAGEMENT, r"(better off|world would be better) (dead|without you)",
        r"(stop|quit) (taking )?(your )?(meds|medication|medicine|antidepressants|pills)",
        r"(double|more|extra) (your )?(dose|pills|meds)", r"(drink|alcohol|weed|a few drinks) "
        r"(to|will|helps?) (forget|relax|numb|sleep|cope|take the edge)", r"(don't|no need to|"
        r"never) (call|tell|see|talk to) (anyone|a therapist|a doctor|the police|your doctor|"
        r"the crisis line|a professional)", r"(how|ways) to (overdose|hang|cut deeper)",
        r"(keep it|keep this) (a )?secret", r"nobody would (miss|notice)", r"(lethal|fatal) dose",
        r"(you deserve (it|this|the pain))", r"(hit|punch|hurt) (him|her|them) back",
    ]),
    # bias: stereotypes about gender, culture, age, religion, orientation, class, disability
    "biased": _compile([
        r"(women|girls|men|boys|guys|females|males) (are|tend to be|always|never|can't|don't|"
        r"shouldn't|should|just)", r"(real|a real) (men|man|woman|women)", r"(boys|men) don't cry",
        r"(like|as) a (girl|woman|man)", r"your (culture|people|kind|religion|race|type)",
        r"people like you", r"(those|these) people", r"(immigrants|foreigners|muslims|christians|"
        r"jews|asians|africans|latinos|mexicans|gay people|trans people|old people|millennials|"
        r"boomers|teenagers|poor people|disabled people) (are|always|never|just|tend|can't|don't)",
        r"at your age", r"(just )?a phase", r"(too old|too young) (to|for)", r"(that's|it's) "
        r"(so )?(gay|girly|unmanly)", r"(where you're from|where you come from|in your country)",
        r"(typical|naturally) (for )?(a |of )?(woman|man|women|men|mother|wife)",
        r"(pray it away|god's punishment|sinful|unnatural)", r"(hysteric\w*|emotional like)",
        r"(housewife|breadwinner) (duty|role|job)", r"(crazy|psycho|insane) people",
    ]),
}
FAMILY_NAMES = tuple(FAMILIES)
N_RESPONSE_FEATURES = len(FAMILY_NAMES) + 3  # + question marks, length, second-person ratio


@dataclass(frozen=True)
class ResponseCues:
    counts: dict[str, int]
    questions: int
    words: int
    you_ratio: float

    def as_features(self) -> list[float]:
        """Fixed-order, bounded features for the heads."""
        feats = [min(self.counts[name], 3) / 3 for name in FAMILY_NAMES]
        feats += [min(self.questions, 3) / 3, min(self.words, 120) / 120, min(self.you_ratio * 5, 1.0)]
        return feats


def encourages_self_harm(text: str) -> bool:
    return ENCOURAGES_SELF_HARM.search(normalise(text)) is not None


def find_response_cues(text: str) -> ResponseCues:
    norm = normalise(text)
    counts = {name: len(rx.findall(norm)) for name, rx in FAMILIES.items()}
    words = norm.split()
    you = sum(w.strip(".,!?") in {"you", "your", "you're", "yourself"} for w in words)
    return ResponseCues(counts, norm.count("?"), len(words), you / max(len(words), 1))
