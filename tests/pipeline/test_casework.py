"""Queue work on the case store (SQLite and the real PostgreSQL server): claims, reroutes, urgency changes,
resolutions, the audit log, access rules, feedback labels, and concurrent workers claiming from one queue."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from pipeline.casework import CaseNotFound, CaseWork, Conflict, Forbidden, InvalidChange, work_engine
from pipeline.corpus import load_items
from pipeline.routing import route
from pipeline.store import LabelRow, open_store
from pipeline.users import Role, User
from tests.pipeline.seeding import T0, Seed, prediction, seed_cases

TEKNIK = User("tove", "Tove", "teknik", Role.HANDLAGGARE)
SOCIAL = User("sara", "Sara", "socialtjanst", Role.HANDLAGGARE)
SOCIAL_ASSISTANT = User("sam", "Sam", "socialtjanst", Role.ASSISTENT)
KONTAKT = User("kim", "Kim", "kontaktcenter", Role.HANDLAGGARE)


@pytest.fixture
def work(store_url, tenant):
    store = open_store(store_url)
    casework = CaseWork(work_engine(store_url), tenant)
    yield store, casework
    casework.engine.dispose()
    store.dispose()


def _labels(casework, case_id):
    with Session(casework.engine) as session:
        return list(session.scalars(select(LabelRow).where(LabelRow.case_id == case_id).order_by(LabelRow.id)))


def test_my_queue_is_sorted_by_priority_then_deadline(work, tenant):
    store, casework = work
    ids = seed_cases(store, tenant, [Seed("gata_trafik", "lag"), Seed("gata_trafik", "akut"), Seed("parkering", "normal"),
                                     Seed("avfall", "akut"), Seed("vinterunderhall", "hog")])
    mine = casework.my_queue(casework.viewer(TEKNIK))
    assert [c.id for c in mine] == [ids[1], ids[4], ids[2], ids[0]]  # avfall belongs to another department
    assert [c.priority for c in mine] == [1, 2, 3, 4]


def test_claim_reroute_change_urgency_resolve_with_audit(work, tenant):
    store, casework = work
    [case_id] = seed_cases(store, tenant, [Seed("gata_trafik", "normal")])
    tove = casework.viewer(TEKNIK)
    assert casework.claim(tove, case_id).claimed_by == "tove"
    with pytest.raises(Conflict, match="claimed by tove"):
        casework.claim(casework.viewer(User("tor", "Tor", "teknik", Role.HANDLAGGARE)), case_id)
    changed = casework.change_urgency(tove, case_id, "hog")
    assert (changed.urgency, changed.priority, changed.human_urgency) == ("hog", 2, "hog")
    assert changed.due_at == T0 + timedelta(hours=tenant.urgency["hog"].sla_hours)
    rerouted = casework.reroute(tove, case_id, topic="avfall")
    assert rerouted.queue == "vatten_avfall" and rerouted.claimed_by is None and rerouted.state == "rerouted"
    with pytest.raises(Forbidden, match="does not work"):
        casework.resolve(tove, case_id, "informerat")
    vera = casework.viewer(User("vera", "Vera", "vatten_avfall", Role.HANDLAGGARE))
    with pytest.raises(InvalidChange, match="resolution"):
        casework.resolve(vera, case_id, "klart")
    done = casework.resolve(vera, case_id, "kopplat", note="kopplad till driften")
    assert (done.state, done.resolution) == ("resolved", "kopplat")
    with pytest.raises(Conflict, match="already resolved"):
        casework.claim(vera, case_id)
    trail = casework.audit_trail(vera, case_id)
    assert [(e.actor_kind, e.actor, e.action) for e in trail] == [
        ("model", "test/1", "routed"), ("user", "tove", "claimed"), ("user", "tove", "urgency_changed"),
        ("user", "tove", "rerouted"), ("user", "vera", "resolved")]
    assert trail[3].detail["from_queue"] == "teknik" and trail[4].detail["note"] == "kopplad till driften"


def test_release_only_by_the_holder(work, tenant):
    store, casework = work
    [case_id] = seed_cases(store, tenant, [Seed("parkering")])
    tove = casework.viewer(TEKNIK)
    with pytest.raises(Conflict, match="not claimed by you"):
        casework.release(tove, case_id)
    casework.claim(tove, case_id)
    released = casework.release(tove, case_id)
    assert released.claimed_by is None and released.state == "routed"


def test_restricted_case_is_invisible_to_other_departments(work, tenant):
    store, casework = work
    secret, public = seed_cases(store, tenant, [Seed("barn_unga_familj", "hog", body="Orosanmälan om Kalle, 070-111 22 33"),
                                                Seed("ekonomiskt_bistand", body="Fråga om blankett", confidence=0.2)])
    tove, sara, kim = casework.viewer(TEKNIK), casework.viewer(SOCIAL), casework.viewer(KONTAKT)
    with pytest.raises(Forbidden):
        casework.get(tove, secret)
    with pytest.raises(Forbidden):
        casework.claim(tove, secret)
    with pytest.raises(Forbidden):
        casework.audit_trail(tove, secret)
    with pytest.raises(CaseNotFound):
        casework.get(tove, "nope")
    assert casework.search(tove, "Orosanmälan") == [] and casework.search(tove, secret) == []
    assert casework.list_queue(tove, "socialtjanst") == []
    counts = {q.queue: q.open_cases for q in casework.queue_summaries(tove)}
    assert counts["socialtjanst"] == 0 and counts["manuell_triage"] == 0
    assert [c.id for c in casework.search(sara, "Orosanmälan")] == [secret]
    assert {q.queue: q.open_cases for q in casework.queue_summaries(sara)}["socialtjanst"] == 1
    # The unsure restricted case sits in manual triage: the triage desk sees it, the social department not yet.
    assert [c.id for c in casework.list_queue(kim, "manuell_triage")] == [public]
    with pytest.raises(Forbidden):
        casework.get(sara, public)
    assert casework.reroute(kim, public, topic="ekonomiskt_bistand") is None  # left the triage desk's sight
    assert casework.get(sara, public).queue == "socialtjanst"


def test_raw_text_only_for_handlers_of_the_owning_department(work, tenant):
    store, casework = work
    [case_id] = seed_cases(store, tenant, [Seed("gata_trafik", body="Ring mig på 070-123 45 67 om hålet")])
    own = casework.get(casework.viewer(TEKNIK), case_id)
    assert own.text_is_raw and "070-123 45 67" in own.body and own.sender == "anna@example.se"
    other = casework.get(casework.viewer(SOCIAL), case_id)
    assert not other.text_is_raw and "070" not in other.body and "[TELEFON]" in other.body
    assistant_view = casework.get(casework.viewer(User("tea", "Tea", "teknik", Role.ASSISTENT)), case_id)
    assert not assistant_view.text_is_raw
    assert not casework.get(casework.viewer(SOCIAL_ASSISTANT), case_id).can_work


def test_reroute_to_a_single_topic_queue_sets_the_topic_and_bad_targets_fail(work, tenant):
    store, casework = work
    [case_id] = seed_cases(store, tenant, [Seed("kommun_allmant", confidence=0.2)])
    kim = casework.viewer(KONTAKT)
    with pytest.raises(InvalidChange, match="unknown queue"):
        casework.reroute(kim, case_id, queue="ingenstans")
    with pytest.raises(InvalidChange, match="unknown topic"):
        casework.reroute(kim, case_id, topic="ingenting")
    moved = casework.reroute(kim, case_id, queue="hanvisning")
    assert (moved.queue, moved.topic, moved.human_topic) == ("hanvisning", "utanfor_kommun", "utanfor_kommun")
    moved = casework.reroute(kim, case_id, queue="teknik")  # four topics map there: the topic stays
    assert (moved.queue, moved.topic) == ("teknik", "utanfor_kommun")
    assert [(label.field, label.new_value) for label in _labels(casework, case_id)] == [
        ("topic", "utanfor_kommun"), ("queue", "hanvisning"), ("queue", "teknik")]


def test_human_correction_survives_a_later_prediction(work, tenant):
    store, casework = work
    corrected, untouched = seed_cases(store, tenant, [Seed("gata_trafik"), Seed("parkering")])
    tove = casework.viewer(TEKNIK)
    casework.change_urgency(tove, corrected, "akut")
    casework.reroute(tove, corrected, topic="avfall")
    later = prediction("bygglov", "lag", version="test/2")
    for case_id in (corrected, untouched):
        store.record_routing(case_id, later, route(later, tenant, T0))  # the triage flow skips routed cases
        assert casework.apply_prediction(case_id, later, route(later, tenant, T0)) == (
            ["topic", "queue", "urgency"] if case_id == corrected else [])
    vera = casework.viewer(User("vera", "Vera", "vatten_avfall", Role.HANDLAGGARE))
    kept = casework.get(vera, corrected)
    assert (kept.topic, kept.queue, kept.urgency, kept.priority) == ("avfall", "vatten_avfall", "akut", 1)
    assert kept.model_version == "test/2" and kept.prediction["topic"] == "bygglov"
    moved = casework.get(casework.viewer(User("bo", "Bo", "samhallsbyggnad", Role.HANDLAGGARE)), untouched)
    assert (moved.topic, moved.queue, moved.urgency) == ("bygglov", "samhallsbyggnad", "lag")
    [record] = list(casework.feedback_records())
    assert (record["topic"], record["urgency"], record["corrected"]) == ("avfall", "akut", ["topic", "urgency"])


def test_feedback_export_is_in_the_corpus_format(work, tenant, tmp_path):
    store, casework = work
    [case_id] = seed_cases(store, tenant, [Seed("gata_trafik", body="Gropen på Storgatan, ring 070-123 45 67")])
    casework.change_urgency(casework.viewer(TEKNIK), case_id, "hog")
    path = tmp_path / "feedback.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in casework.feedback_records()), encoding="utf-8")
    [item] = load_items(path)
    assert (item.topic, item.urgency, item.channel) == ("gata_trafik", "hog", "email")
    assert "070" not in item.body and "[TELEFON]" in item.body
    assert item.source == f"feedback:solvik:{case_id}"


def test_concurrent_workers_never_claim_the_same_case(work, tenant, store_url):
    store, casework = work
    n_cases, n_workers = 30, 6
    seed_cases(store, tenant, [Seed("gata_trafik", urgency) for urgency in ["akut", "hog", "normal"] * (n_cases // 3)])
    workers = [casework.viewer(User(f"w{i}", f"W{i}", "teknik", Role.HANDLAGGARE)) for i in range(n_workers)]
    start = threading.Barrier(n_workers)
    # Each worker has its own engine (its own connections), as separate app processes would.
    engines = [work_engine(store_url) for _ in range(n_workers)]

    def drain(i: int) -> list[tuple[str, str]]:
        mine = CaseWork(engines[i], tenant)
        start.wait()
        claimed = []
        while (case := mine.claim_next(workers[i], "teknik")) is not None:
            claimed.append((case.id, case.claimed_by))
        return claimed

    with ThreadPoolExecutor(n_workers) as pool:
        results = list(pool.map(drain, range(n_workers)))
    for engine in engines:
        engine.dispose()
    claimed_ids = [case_id for result in results for case_id, _ in result]
    assert len(claimed_ids) == n_cases and len(set(claimed_ids)) == n_cases
    assert all(holder == f"w{i}" for i, result in enumerate(results) for _, holder in result)
    assert sum(1 for result in results if result) >= 2  # the work was really shared
    assert {c.claimed_by for c in casework.my_queue(workers[0])} == {f"w{i}" for i, r in enumerate(results) if r}


@pytest.mark.postgres
def test_claim_next_skips_a_case_another_worker_has_locked(postgres_url, tenant):
    """On PostgreSQL a worker does not wait for a row another transaction holds: it takes the next case."""
    store = open_store(postgres_url)
    store.engine.dispose()
    with Session(create_engine(postgres_url)) as cleanup, cleanup.begin():
        cleanup.execute(text("TRUNCATE cases, inquiries, audit_log, feedback_labels"))
    first, second = seed_cases(store, tenant, [Seed("gata_trafik", "akut"), Seed("gata_trafik", "hog")], start=100)
    holder_engine = create_engine(postgres_url)
    # Without SKIP LOCKED the claim would wait for the held row; the lock timeout turns that wait into a failure.
    casework = CaseWork(create_engine(postgres_url, connect_args={"options": "-c lock_timeout=3000"}), tenant)
    with holder_engine.connect() as holder:
        holder.execute(text("SELECT id FROM cases WHERE id = :id FOR UPDATE"), {"id": first})
        claimed = casework.claim_next(casework.viewer(TEKNIK), "teknik")
        assert claimed is not None and claimed.id == second
        holder.rollback()
    assert casework.claim_next(casework.viewer(TEKNIK), "teknik").id == first
    casework.engine.dispose()
    holder_engine.dispose()
    store.dispose()
