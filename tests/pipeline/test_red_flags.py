"""Red flags: each rule fires on realistic messages (with and without å/ä/ö, in Swedish, English and eight more
languages), stays quiet on near misses, keeps each language's exclusions to its own matches, only ever raises
urgency, puts every hit in the trace, fails fast on broken config, and pickles."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from pipeline.config import URGENCY_CODES, ConfigError
from pipeline.red_flags import RedFlagHit, RedFlagMatcher, apply_red_flags, load_red_flags
from tests.conftest import CONFIG_DIR


@pytest.fixture(scope="module")
def config():
    return load_red_flags(CONFIG_DIR)


@pytest.fixture(scope="module")
def matcher(config):
    return RedFlagMatcher.from_config(config)


def _rule_ids(matcher: RedFlagMatcher, text: str) -> set[str]:
    return {hit.rule_id for hit in matcher.scan(text)}


def _urgency_after(matcher: RedFlagMatcher, text: str, urgency: str = "normal") -> str:
    return apply_red_flags(urgency, matcher.scan(text))[0]


# rule id -> messages that must fire it: Swedish, Swedish typed without å/ä/ö, English.
POSITIVES: dict[str, list[str]] = {
    "sjalvmord": [
        "Min bror skrev i kväll att han inte vill leva längre och att ingen skulle sakna honom.",
        "hon har pratat om sjalvmord hela kvallen och nu svarar hon inte",
        "Pappa sa att han tänker ta livet av sig när han kommer hem.",
        "My son told me tonight he wants to kill himself. Please help.",
        "Our neighbour left a note saying he doesn't want to live anymore.",
    ],
    "hot_vald": [
        "Min exman hotar att döda mig om jag inte släpper in honom.",
        "han slar mig varje gang han har druckit och nu ar han hemma igen",
        "En kund hotade personalen med kniv i receptionen för tio minuter sedan.",
        "Vi har fått ett hotbrev till förskolan i morse.",
        "My husband hits me and I am scared to go home.",
        "A man at the reception was threatening to kill the staff.",
    ],
    "barn_risk": [
        "Två små barn, 3 och 5 år, är ensamma hemma sedan i morse och ingen vuxen svarar.",
        "en flicka pa 8 ar ar ensam hemma, mamman har inte kommit hem",
        "Pojken vågar inte gå hem, han säger att pappa kommer att bli arg.",
        "The kids next door (2 and 4) have been left alone at home since last night.",
        "She is 12 and says she is afraid to go home.",
    ],
    "orosanmalan": [
        "Jag vill göra en orosanmälan om grannens barn, de verkar inte få mat.",
        "Jag ar orolig att barnet far illa och vill gora en orosanmalan.",
        "I am a teacher and want to report a concern about one of my students.",
    ],
    "utan_omsorg": [
        "Mamma har inte fått sin medicin i dag och hon låter konstig i telefonen.",
        "pappa ligger pa golvet och kommer inte upp, ingen har varit dar",
        "Min moster har ramlat i hallen och kan inte ta sig upp från golvet.",
        "My grandmother has not had her medication since yesterday morning.",
        "He has no food at home and hasn't eaten since Monday.",
    ],
    "hemtjanst_uteblev": [
        "Hemtjänsten har inte kommit i morse till mamma på Lindvägen 3.",
        "hemtjansten har inte varit dar sedan i gar lunch",
        "The home care staff did not come this morning to my father.",
    ],
    "vatten": [
        "Vattenläcka utanför Storgatan 4, vattnet forsar upp ur asfalten.",
        "kallaren star under vatten och det blir mer hela tiden",
        "Avloppet svämmar över i tvättstugan, det står avloppsvatten på golvet.",
        "Vi har inget vatten i kranen sedan i morse, hela gatan.",
        "Sewage is coming up through the floor drain and overflowing into the hall.",
        "There is no water in the whole building since 6 am.",
    ],
    "gas_brand_kemikalier": [
        "Det luktar gas i trapphuset på Parkvägen 2.",
        "det brinner i en soptunna vid skolan och det kommer svart rok",
        "There is a strong smell of gas in the school kitchen.",
    ],
    "medicinskt_nodlage": [
        "Han har svårt att andas och läpparna är blå.",
        "hon svimmade nyss i vantrummet och ar blek",
        "My father has chest pains and is alone at home.",
    ],
    "ras_fallande": [
        "Betongbitar faller ner på trottoaren från balkongen.",
        "Slänten rasar mot vårt hus och lera kommer in genom fönstret.",
        "The scaffolding is about to collapse onto the pavement.",
    ],
    "trafikfara": [
        "Ett stort träd har fallit över vägen vid Norrby, bilarna kör runt i diket.",
        "trafikljusen ar ur funktion i korsningen vid torget och det ar rusningstrafik",
        "En nedfallen elledning ligger över cykelvägen.",
        "A tree has fallen across the road near the school.",
        "There is a downed power line on Main Street.",
    ],
    "forsvunnen": [
        "Min dementa mamma har gått hemifrån och hittar inte hem.",
        "Sonen har försvunnit sedan i går kväll och svarar inte.",
        "min pappa (84) har inte kommit hem fran dagverksamheten",
        "My father has gone missing, he has dementia.",
        "Our daughter didn't come home after school and her phone is off.",
    ],
}


def test_every_rule_has_positive_examples(config):
    assert {rule.id for rule in config.rules} == set(POSITIVES), "add examples for new rules, remove old ones"


@pytest.mark.parametrize(("rule_id", "text"), [(r, t) for r, texts in POSITIVES.items() for t in texts])
def test_rule_fires_on_realistic_message(matcher, rule_id, text):
    assert rule_id in _rule_ids(matcher, text)


# The languages every shipped rule is written in: Swedish, English, and those residents most often write in besides.
RULE_LANGUAGES = {"sv", "en", "fi", "ar", "fa", "so", "ti", "pl", "hbs", "uk"}
# Per rule and language: messages that must fire the rule and near misses that must not (general questions, past
# events, the same word in a harmless sense), written with the patterns by their authors.
LANGUAGE_CASES = [json.loads(line) for line in (Path(__file__).parent / "data" / "red_flag_cases.jsonl")
                  .read_text(encoding="utf-8").splitlines() if line.strip()]


def test_shipped_rules_cover_every_language(config):
    for rule in config.rules:
        assert set(rule.languages) == RULE_LANGUAGES, rule.id
        assert rule.alert and rule.reason


@pytest.mark.parametrize("case", LANGUAGE_CASES, ids=lambda c: f"{c['lang']}-{c['rule']}-{c['expect']}")
def test_rule_cases_in_other_languages(matcher, case):
    assert (case["rule"] in _rule_ids(matcher, case["text"])) is case["expect"], case["gloss"]


def test_an_exclusion_applies_to_its_own_language_only(tmp_path):
    # A Somali past-event context must not silence a Swedish match in the same sentence, and the other way round.
    def somali_context(raw):
        rule = next(r for r in raw["rules"] if r["id"] == "sjalvmord")
        rule["unless"]["so"] = rule["unless"].get("so", []) + ["\\bsanadkii hore\\b"]

    matcher = RedFlagMatcher.from_config(load_red_flags(_write_config(tmp_path, somali_context)))
    assert "sjalvmord" in _rule_ids(matcher, "Jag vill inte leva längre, sanadkii hore var också svårt")


@pytest.mark.parametrize(
    "text",
    [
        # words that contain or resemble a trigger
        "Vi bor på hotell under helgen, kan vi ändå hämta ut vårt busskort?",
        "Numret till er hotline fungerar inte.",
        "Han slår på lampan i trapphuset varje natt, kan ni byta timer?",
        "Det slog mig att fakturan var dubbel.",
        "Vi slog oss ner på en bänk i parken och såg att den var trasig.",
        "Jag brinner för kultur och vill söka kulturstöd.",
        "Min ansökan om förskoleplats har försvunnit i ert system.",
        "Which document is missing from my application?",
        "Träden vid vägen behöver beskäras, grenarna skymmer skylten.",
        "Det finns ett potthål i vägen utanför nr 12.",
        "Priserna på tomterna rasar, varför säljer kommunen nu?",
        # water: billing, past events, planning
        "Jag har en fråga om vattenmätaren och fakturan för förra kvartalet.",
        "Vi hade en vattenläcka förra året, nu undrar jag om fakturan.",
        "Detaljplanen tar inte hänsyn till översvämningsrisken vid ån.",
        "Tack för att ni lagade vattenläckan så snabbt i natt!",
        # general questions and information
        "Hur gör man en orosanmälan?",
        "Vad gör jag om jag misstänker att en granne är hotad? Vart vänder man sig?",
        "Har ni föreläsningar om suicidprevention för personal?",
        # the sender's own urgency words are not red flags
        "AKUT!!! Jag måste få besked om förskoleplatsen i dag, det är bråttom.",
        "URGENT: my parking permit expires tomorrow.",
    ],
)
def test_near_misses_do_not_raise_to_akut(matcher, text):
    assert _urgency_after(matcher, text, "normal") != "akut", matcher.scan(text)


@pytest.mark.parametrize(
    "text",
    [
        # everyday phrases that share words with a pattern
        "Mormor ska dö snart, hon är i palliativ vård och vi vill ha stöd som anhöriga.",
        "Bygget hotar att skada grundvattnet i området.",
        "Nämnden hotar att skjuta upp beslutet igen.",
        "The new parking fees will hurt small shops in the centre.",
        "She hit my car in the car park and drove off.",
        "Barnen vill inte gå hem från fritids, de har så roligt!",
        "Det finns ingen vuxen som lyssnar på ungdomarna i området.",
        "Det fanns ingen mat kvar när min son kom till matsalen.",
        "Min son kommer inte upp ur sängen på morgnarna och missar bussen.",
        "Min son vaknar inte av väckarklockan och missar skolbussen.",
        "I rullstol kan jag inte röra mig fritt på trottoaren vid torget.",
        "Gatlyset brinner hela dagen på Storgatan, slöseri!",
        "Det ryker från grannens skorsten varje kväll och röken kommer in hos oss.",
        "Den övergivna bilen har läckt olja på parkeringen i flera veckor.",
        "Löven faller ner i rännan varje höst.",
        "The fence at the playground is falling down.",
        "Grenar ligger på gångvägen efter stormen.",
        "Kärlet har inte kommit tillbaka efter tömningen.",
        "The case officer hasn't come back to me about my application.",
        "Hunden har sprungit bort, har ni hittat en hund?",
        "Jag hittar inte tillbaka till startsidan på er webb.",
        "Vi vet inte var hon är placerad i kön.",
        "Vi har inget vatten i plaskdammen i parken.",
        "We were flooded with calls after the article.",
        "Jag svimmade nästan när jag såg fakturan.",
        "No food is allowed in the library.",
        "Min värld rasar ihop när jag läser beslutet.",
        "Inget hot, bara störande ungdomar i läsesalen.",
        "Vi har inte fått medicinskt intyg från läkaren än.",
        "Vi har inte fått matlådorna levererade i dag.",
        "Vattenläckan på Storgatan är åtgärdad men asfalten är inte lagad.",
        "Vi undrar om översvämningen i somras täcks av er försäkring.",
        "Min cykel har försvunnit från cykelstället vid stationen.",
        "Det har varit ett stort hål i vägen sedan i våras, när lagar ni potthålet?",
    ],
)
def test_everyday_phrases_fire_nothing(matcher, text):
    assert matcher.scan(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Hur gör jag en orosanmälan?",
        "Vad händer efter att man gjort en orosanmälan?",
        "Hotell och hotline",
        "Jag har en fråga om vattenmätaren.",
    ],
)
def test_plain_questions_fire_nothing(matcher, text):
    assert matcher.scan(text) == []


def test_orosanmalan_without_acute_signs_is_hog_not_akut(matcher):
    text = "Jag vill göra en orosanmälan om en elev som ofta kommer till skolan hungrig."
    assert _urgency_after(matcher, text, "lag") == "hog"
    assert _urgency_after(matcher, text, "normal") == "hog"


def test_orosanmalan_with_acute_signs_is_akut(matcher):
    text = "Orosanmälan: eleven säger att pappa slår honom och han vågar inte gå hem i dag."
    assert {"orosanmalan", "hot_vald", "barn_risk"} <= _rule_ids(matcher, text)
    assert _urgency_after(matcher, text, "normal") == "akut"


def test_missed_home_care_visit_alone_is_hog(matcher):
    assert _urgency_after(matcher, "Hemtjänsten har inte kommit i dag till pappa.", "normal") == "hog"
    assert _urgency_after(matcher, "Hemtjänsten har inte kommit och mamma har inte fått sin insulin.") == "akut"


def test_unless_applies_to_the_sentence_not_the_whole_message(matcher):
    text = "Vi hade en vattenläcka förra året. Nu forsar vattnet upp ur gatan igen, just nu!"
    hits = matcher.scan(text)
    assert [h.rule_id for h in hits] == ["vatten"]
    assert "forsar" in hits[0].snippet


def test_ingen_fara_is_honoured_for_property_but_not_for_violence(matcher):
    assert "vatten" not in _rule_ids(matcher, "Lite vatten upp ur golvbrunnen, ingen fara, bara så ni vet.")
    assert "hot_vald" in _rule_ids(matcher, "Ingen fara tror jag, men han hotar att döda mig om jag går.")


def test_scan_survives_decomposed_unicode_and_odd_spaces(matcher):
    decomposed = "Han vill inte\u00a0leva la\u0308ngre och pratar om sja\u0308lvmord."
    hits = matcher.scan(decomposed)
    assert [h.rule_id for h in hits] == ["sjalvmord"]
    assert hits[0].snippet == "vill inte leva"


def test_hit_carries_rule_data_and_one_hit_per_rule(matcher, config):
    hits = matcher.scan("Det luktar gas i köket. Det luktar gas i hallen också. Gaslukten blir starkare.")
    assert len(hits) == 1
    rule = next(r for r in config.rules if r.id == "gas_brand_kemikalier")
    assert (hits[0].raise_to, hits[0].alert, hits[0].reason) == (rule.raise_to, rule.alert, rule.reason)
    assert hits[0].snippet.lower() == "luktar gas"


def test_empty_text_has_no_hits(matcher):
    assert matcher.scan("") == []


# --- applying hits --------------------------------------------------------------------------------------------


def _hit(rule_id: str, raise_to: str) -> RedFlagHit:
    return RedFlagHit(rule_id=rule_id, raise_to=raise_to, alert="socialjour", reason="test", snippet=f"text {rule_id}")


@given(
    urgency=st.sampled_from(URGENCY_CODES),
    raises=st.lists(st.sampled_from(["akut", "hog"]), max_size=5),
)
def test_urgency_is_raised_to_the_highest_hit_and_never_lowered(urgency, raises):
    hits = [_hit(f"rule{i}", r) for i, r in enumerate(raises)]
    result, trace = apply_red_flags(urgency, hits)
    rank = {code: i for i, code in enumerate(URGENCY_CODES)}  # 0 = akut, most urgent
    assert rank[result] == min([rank[urgency]] + [rank[r] for r in raises])
    assert rank[result] <= rank[urgency]
    assert len(trace) == len(hits)
    for hit, line in zip(hits, trace, strict=True):
        assert f"red flag {hit.rule_id}: '{hit.snippet}' -> {hit.raise_to} (alert {hit.alert})" in line


def test_trace_line_format_and_no_change_note(matcher):
    hits = matcher.scan("Han säger att han vill inte leva längre.")
    urgency, trace = apply_red_flags("normal", hits)
    assert urgency == "akut"
    assert trace == ["red flag sjalvmord: 'vill inte leva' -> akut (alert socialjour)"]
    urgency, trace = apply_red_flags("akut", [_hit("orosanmalan", "hog")])
    assert urgency == "akut" and trace[0].endswith("; urgency already akut")


def test_no_hits_leave_urgency_and_trace_empty():
    assert apply_red_flags("lag", []) == ("lag", [])


def test_unknown_urgency_is_rejected():
    with pytest.raises(ValueError, match="unknown urgency"):
        apply_red_flags("medium", [])


# --- config errors and persistence ----------------------------------------------------------------------------


def _write_config(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load((CONFIG_DIR / "red_flags.yaml").read_text(encoding="utf-8"))
    mutate(raw)
    (tmp_path / "red_flags.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return tmp_path


def test_bad_regex_names_rule_and_pattern(tmp_path):
    config_dir = _write_config(tmp_path, lambda raw: raw["rules"][1]["patterns"]["sv"].append(r"\bhot(ar"))
    with pytest.raises(ConfigError, match=r"rule 'hot_vald': pattern '\\bhot\(ar' is not a valid regex"):
        load_red_flags(config_dir)


def test_bad_unless_regex_is_rejected(tmp_path):
    config_dir = _write_config(tmp_path, lambda raw: raw["rules"][0].setdefault("unless", {}).setdefault("all", []).append("[åa"))
    with pytest.raises(ConfigError, match="rule 'sjalvmord': unless"):
        load_red_flags(config_dir)


def test_pattern_matching_everything_is_rejected(tmp_path):
    config_dir = _write_config(tmp_path, lambda raw: raw["rules"][0]["patterns"]["sv"].append("(akut)?"))
    with pytest.raises(ConfigError, match="matches the empty string"):
        load_red_flags(config_dir)


def test_patterns_that_cannot_share_one_regex_are_rejected(tmp_path):
    config_dir = _write_config(tmp_path, lambda raw: raw["rules"][0]["patterns"]["sv"].append("(?i)livet"))
    with pytest.raises(ConfigError, match="rule 'sjalvmord': patterns cannot be combined"):
        load_red_flags(config_dir)


def test_unless_scope_message_excludes_the_whole_message(tmp_path):
    def message_scope(raw):
        rule = next(r for r in raw["rules"] if r["id"] == "vatten")
        rule["unless_scope"] = "message"

    matcher = RedFlagMatcher.from_config(load_red_flags(_write_config(tmp_path, message_scope)))
    assert matcher.scan("Vi hade en vattenläcka förra året. Nu forsar vattnet upp ur gatan igen!") == []
    assert [h.rule_id for h in matcher.scan("Nu forsar vattnet upp ur gatan!")] == ["vatten"]


def test_duplicate_rule_id_is_rejected(tmp_path):
    config_dir = _write_config(tmp_path, lambda raw: raw["rules"].append(dict(raw["rules"][0])))
    with pytest.raises(ConfigError, match=r"duplicated: \['sjalvmord'\]"):
        load_red_flags(config_dir)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: raw["rules"][0].update(raise_to="normal"), "raise_to"),
        (lambda raw: raw["rules"][0].update(colour="red"), "colour"),
        (lambda raw: raw["rules"][0].update(patterns={}), "patterns"),
        (lambda raw: raw["rules"][0].pop("alert"), "alert"),
    ],
    ids=["lowering-level", "unknown-field", "no-patterns", "no-alert"],
)
def test_invalid_rule_fields_are_rejected(tmp_path, mutate, message):
    with pytest.raises(ConfigError, match=message):
        load_red_flags(_write_config(tmp_path, mutate))


def test_missing_config_file_is_clear(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_red_flags(tmp_path)


def test_matcher_survives_a_joblib_round_trip(matcher, tmp_path):
    path = tmp_path / "matcher.joblib"
    joblib.dump({"red_flags": matcher}, path)
    loaded = joblib.load(path)["red_flags"]
    assert loaded.version == matcher.version
    text = "Vattenläcka på Storgatan, vattnet forsar. Pappa ligger på golvet och kommer inte upp."
    assert loaded.scan(text) == matcher.scan(text)
    assert [h.rule_id for h in loaded.scan(text)] == ["utan_omsorg", "vatten"]
