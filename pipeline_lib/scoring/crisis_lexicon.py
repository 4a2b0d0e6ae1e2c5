"""The crisis lexicon: idioms to blank, explicit and indirect cue patterns, and the clause markers
(negators, past, now, topic, joke) that set a cue apart. Matching lives in `crisis_cues`.

Patterns run on `crisis_cues.normalise`d text (lower case, leetspeak undone, contractions restored).
Entries were written from the labelling guide and the *train* split only (docs/scoring.md).
FROZEN since 2026-11-24 (before batch v3 was written): no entry is added from any split any more, so
the validation split (v3) and the test split stay unseen by the lexicon and can measure it honestly.
"""

from __future__ import annotations

import re

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
        r"\bwish(ing)? (i|i'd)( had| was| were)? (never been born|been dead|dead|never born)\b",
        r"\b(tired|sick) of (being alive|living|life|existing)\b",
        r"\b(done|finished) with (life|living|being alive)\b",
        r"\bready to (end it|die|go for good)\b",
        r"\b(why|reason) (i|to) (should )?keep (living|going on)\b",
        r"\b(pray|hope|hoping|praying) (every night |each night )?(that )?i (don't|won't|never) wake up\b",
        r"\bdisappointed (that )?i woke up\b",
        r"\b(hope|hoping|wish|wishing) something (happens|would happen|bad happens) to me\b",
        r"\b(if i died|died in my sleep|hit by a (car|bus|train)|(car|bus|train) hit me|crashed into my)\b.{0,40}"
        r"\b(relieved|wouldn't mind|be fine|be glad|be happy)\b",
        r"\b(be fine|be relieved|wouldn't mind|be glad)\b.{0,30}\b(died|dead|hit me|crashed)\b",
        r"\bwish (it|everything) would (all )?(just )?(end|stop)\b",
        r"\bnot (wake|waking) up\b.{0,30}\b(sounds|would be|seems) (amazing|nice|good|great|peaceful)\b",
        r"\b(i'll|i will|i'm going to) just die\b",
        r"\b(just )?not exist( anymore| any more| forever)?\b",
        r"\bi want out\b",
        r"\b(step|jump|throw myself) in front of\b",
        r"\bhow (i'm|i am) going to do it\b",
        r"\b(picked|chosen|set) a date\b",
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
        r"\b(standing|sitting|stood|sat) on (the )?(\w+ )?(edge|ledge|bridge|roof|railing)\b",
        r"\b(nearly|almost) (jumped|overdosed|hanged|killed myself)\b",
        r"\b(at|on) the top of (the|a) ([\w-]+ )?(car park|building|bridge|cliff|tower)\b",
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
        r"\b(took|take|taking|swallowed|swallow) (all|all of|a load of|a bunch of|a handful of|too many|(a |the )?whole"
        r" (bottle|box|pack|packet) of|every one of) (my |her |his |their |the |those |these )?"
        r"(pills|tablets|meds|sleeping pills|antidepressants|painkillers|paracetamol)\b",
        r"\b(suicide|goodbye) (note|letter)\b",
        r"\bwr(ote|itten|iting) (a|my) (note|goodbye)\b",
    ],
    "self_harm": [
        rf"\b(cut|cutting|burn|burning|burnt|burned|hurt|hurting|harm|harming|hit|hitting|punish|"
        rf"punishing|scratch|scratching|scratched|starve|starving) {_SELF}\b",
        r"\buntil (it|i|they) (bleeds?|bled|bruises?)\b",
        r"\bcut(ting)? deeper\b",
        r"\b(burn|burned|burnt|burning|scratch|scratched|scratching|hitting|hit|punched|punching)"
        r" (my )?(arms?|legs?|wrists?|thighs?|skin|head|stomach)\b",
        r"\b(started|start|been) cutting again\b",
        r"\bholding (a|the) (razor|blade|knife)\b",
        r"\b(held|holding) a (knife|blade|razor) to my\b",
        r"\bself[- ]?harm(ing|ed)?\b",
        r"\bslit(ting)? my wrists?\b",
        r"\bcut(ting)? (my|into my) (arms?|wrists?|legs?|thighs?|skin)\b",
        r"\b(relapsed|relapse) (on|into) (cutting|self[- ]?harm)\b",
        r"\burges? to (cut|hurt|harm|burn)\b",
    ],
    "third_person": [
        rf"\b(kill|killing|killed|unalive|hurt|hurting|cut|cutting|harm|harming|end|ending|hang|hanging|shoot|"
        rf"shooting|burn|burning|starve|starving) {_OTHER}\b",
        r"\b(end|ending|take|taking) (his|her|their) (own )?life\b",
        r"\b(he|she|they) (wants?|wanted|said .{0,20}wants?) to die\b",
        r"\b(he|she|they)('s| is| are|'re)? going to (jump|hang|shoot|drive (his|her|their) car into)\b",
        r"\b(he|she|they) (doesn't|don't|does not) want to (be alive|live)\b",
    ],
    "harm_to_others": [
        r"\b(going to|want to|wanna|will|plan to|planning to|about to) (kill|shoot|stab|hurt|strangle)"
        r" (him|her|them|someone|somebody|everyone|people|my (boss|wife|husband|dad|mom|father|"
        r"mother|neighbou?r|ex|roommate|kids?|stepdad|stepfather|stepmum|stepmom|partner))\b(?! (if|when))",
        r"\b(bring|bringing|take|taking) a gun to (school|work)\b",
        r"\b(imagin|think|thought|fantasi)\w* (about |of )?(stabbing|killing|hurting|shooting|strangling|"
        r"poisoning|drowning) (my|him|her|them|someone|people)\b",
        r"\bcould (actually|really|honestly) (kill|strangle|stab|hurt) (him|her|them|someone|my \w+)\b",
        r"\bpoison(ing)? (him|her|them|my \w+|the \w+)\b",
    ],
    "danger_from_others": [
        r"\b(he|she|they|my (husband|wife|partner|boyfriend|girlfriend|dad|father|mom|mother|stepdad|ex))"
        r" (hits|hit|beats|beat|chokes|choked|strangled|punched|raped|threatened to kill|is going to"
        r" kill|will kill|is hurting|keeps hurting) me\b",
        r"\b(not|isn't|never) safe (at home|here|in my (house|home))\b",
        r"\bafraid (he|she|they)('ll| will| is going to) (kill|hurt) me\b",
        r"\b(breaking|kicking|banging on|trying to break) (down )?(the|my) door\b",
        r"\b(said|says|threatened|threatens) (that )?(he|she|they)('ll| will| would|'d| is going to)"
        r" (kill|hurt|burn) me\b",
        r"\bthreatened to (kill|hurt|burn|stab|shoot)\b",
        r"\b(he|she|they|boyfriend|girlfriend|partner|husband|wife) (hurts|beats|hits) me\b",
        r"\bwon't let me (leave|go out|out of the house)\b",
        r"\b(someone|somebody|a man|he|she) (is )?following me\b",
        r"\b(outside|at) my (door|flat|house|window)\b.{0,30}\b(knife|gun)\b",
    ],
}

INDIRECT = [
    r"\b(giving|gave|give|given) (away )?(all )?(of )?(my|his|her|their) (things|stuff|belongings|"
    r"possessions|clothes|books|games|savings|guitar)( away)?\b",
    r"\b(giving|gave) away my\b",
    r"\b(said|saying|say|to say) (my )?(goodbye|goodbyes|bye)s? to (everyone|my|people|you all|friends)\b",
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
    r"\b(bought|got|have|found) (a |the |some )?(rope|gun|noose|razor|blades?)\b",
    r"\b(take|look after|feed) (care of )?my (cat|dog|kids|pets?) (when|after|once) i'?m gone\b",
    r"\bwhen i'?m gone\b",
    r"\b(disappear|disappeared|vanish|vanished) (forever|for good)\b",
    r"\b(wrote|written|writing|left) (letters|notes) (to|for) (each of )?my\b",
    r"\b(passwords|bank details|pin numbers?)\b.{0,20}\bjust in case\b",
    r"\b(affairs|everything) in order\b",
    r"\b(cancelled|canceled) everything\b",
    r"\b(dead weight|a weight around)\b",
    r"\b(deserve|deserves) (better|more) than me\b",
    r"\b(last time you'll hear from me|my last goodbyes?|last goodbyes|one last time)\b",
    r"\b(made my (choice|decision)|i've decided)\b",
    r"\b(it'll|it will) all be over\b",
    r"\bhave it (all )?be over\b",
    r"\b(saving|saved|collecting) them (up )?instead\b",
    r"\bhow many\b.{0,25}\b(pills|tablets|meds|painkillers)\b.{0,15}\b(take|kill)\b",
    r"\bhow (high|tall|far down)\b.{0,20}\b(roof|bridge|building|car park|cliff|drop)\b",
    r"\b(rope|pills|gun|knife|blade) (is|are) in my\b",
    r"\b(tonight's|tonight is) the night\b",
    r"\b(got|have) everything (ready|i need)\b",
    r"\b(written|wrote|left) the note\b",
    r"\b(gave|given) my (\w+ )?(dog|cat|guitar|laptop|pets?)\b.{0,20}\b(to|for good)\b",
    r"\b(won't|will not|wont) need (it|them) (anymore|any more|where i'm going)?\b",
    r"\bwant (everything|it all) to (stop|end|be over)\b",
    r"\bblood (on|all over) the\b",
    r"\b(going|walking|driving) to the (bridge|cliff|woods|tracks)\b",
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
    r"ain't|haven't|hasn't|hadn't|no longer|nor|without|stopped|quit|neither|have no|had no|zero|"
    r"nobody|no one|"
    r"asked (me )?(if|whether))\b"
)
PAST = re.compile(
    r"\b(used to|years ago|months ago|a long time ago|long ago|when i was (a |young|little|\d+|in)|"
    r"my (old|previous|past|first) (suicide )?attempt|"
    r"in (high school|middle school|college|my teens|my twenties|the past)|as a (teen|teenager|kid)|"
    r"back (then|in)|at (\d+|fifteen|sixteen|seventeen)|a decade ago|once upon|survived|recovered|"
    r"(years|months) back|in (19|20)\d\d|been (okay|ok|fine|clean|free) (since|for))\b"
)
NOW = re.compile(
    r"\b(again|still|now|lately|these days|tonight|today|right now|anymore|any more|this week|"
    r"yesterday|last night|recently|(is|are|came|coming|come) back|currently)\b"
)
TOPIC = re.compile(
    r"\b(essay|research|paper|thesis|documentary|article|movie|film|book|novel|series|podcast|"
    r"for (my |a )?(\w+ )?class|lecture|statistics|stats|warning signs|prevention|awareness|training|"
    r"course|song|lyrics|character|fiction|difference between|asking about|first aid|the word|"
    r"learn (more )?about|what is|what are|is it true|volunteer|why do people|how common|how often|"
    r"rates?|a sign of|books? about|recommend|peer support\w*|among|how (do|should|can) (i|we|you|a \w+)"
    r" (talk to|ask|respond|report))\b"
)
CLAUSE_SPLIT = re.compile(r"[.;!?\n]+|,\s*|\s+\b(but|though|although|however|yet|and)\b\s+")
# Joke markers: a feature, never a filter ("lol I want to die" can be real; the classifier weighs it).
JOKE = re.compile(r"\b(lol|lmao|lmfao|haha\w*|jk|rofl|omg|xd)\b")
