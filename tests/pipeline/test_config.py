"""Every shipped config loads; broken configs fail fast with a message that names the problem."""

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from pipeline.config import ConfigError, TenantConfig, load_tenant, load_training, load_yaml
from tests.conftest import CONFIG_DIR


def test_taxonomy_matches_the_label_contract(taxonomy):
    shared = (CONFIG_DIR.parent.parent / "shared" / "TAXONOMY.md")
    assert len(taxonomy.topic_codes) == 26
    assert taxonomy.urgency_codes == ["akut", "hog", "normal", "lag"]
    if shared.is_file():
        text = shared.read_text(encoding="utf-8")
        for code in taxonomy.topic_codes:
            assert f"| {code} |" in text


@pytest.mark.parametrize("path", sorted((CONFIG_DIR / "tenants").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_tenant_loads(path, taxonomy):
    tenant = load_tenant(CONFIG_DIR, path.stem, taxonomy)
    assert tenant.review_queue in tenant.queues


def test_training_config_loads():
    config = load_training(CONFIG_DIR)
    assert config.model_kind == "ensemble" and config.ensemble.members == ["e5-finetune", "tfidf"]
    assert config.encoder.trim_vocabulary and config.e5_finetune.max_minutes <= 30


def _write_tenant(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load((CONFIG_DIR / "tenants" / "solvik.yaml").read_text(encoding="utf-8"))
    mutate(raw)
    (tmp_path / "tenants").mkdir(exist_ok=True)
    shutil.copy(CONFIG_DIR / "taxonomy.yaml", tmp_path / "taxonomy.yaml")
    path = tmp_path / "tenants" / "solvik.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_unknown_queue_is_rejected_with_its_name(tmp_path):
    path = _write_tenant(tmp_path, lambda raw: raw["mappings"][0]["topics"].update(avfall="sopor"))
    with pytest.raises(ConfigError, match="sopor"):
        load_yaml(path, TenantConfig)


def test_missing_topic_is_rejected(tmp_path, taxonomy):
    _write_tenant(tmp_path, lambda raw: raw["mappings"][0]["topics"].pop("avfall"))
    with pytest.raises(ConfigError, match="avfall"):
        load_tenant(tmp_path, "solvik", taxonomy)


def test_invalid_yaml_and_missing_file_are_clear(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("queues: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml(bad, TenantConfig)
    with pytest.raises(ConfigError, match="not found"):
        load_yaml(tmp_path / "nope.yaml", TenantConfig)


def test_mapping_in_force_follows_valid_from(tmp_path, taxonomy):
    def reorganise(raw):
        new = dict(raw["mappings"][0], version="2027-01", valid_from=date(2027, 1, 1))
        new["topics"] = dict(new["topics"], avfall="teknik")
        raw["mappings"].append(new)

    _write_tenant(tmp_path, reorganise)
    tenant = load_tenant(tmp_path, "solvik", taxonomy)
    assert tenant.mapping_at(date(2026, 6, 1)).topics["avfall"] == "vatten_avfall"
    assert tenant.mapping_at(date(2027, 2, 1)).topics["avfall"] == "teknik"
    with pytest.raises(ConfigError, match="no topic mapping"):
        tenant.mapping_at(date(2020, 1, 1))


# --- departments, alerts, referral ---------------------------------------------------------------------


def test_a_queue_without_department_is_rejected(tmp_path):
    path = _write_tenant(tmp_path, lambda raw: raw["departments"]["ekonomi"]["queues"].remove("ekonomi") or
                         raw["departments"]["ekonomi"]["queues"].append("teknik"))
    with pytest.raises(ConfigError, match=r"owned twice \[.teknik.\], owned by none \[.ekonomi.\]"):
        load_yaml(path, TenantConfig)


def test_referral_queue_must_match_the_mapping(tmp_path):
    path = _write_tenant(tmp_path, lambda raw: raw["referral"].update(queue="kommunledning"))
    with pytest.raises(ConfigError, match="utanfor_kommun"):
        load_yaml(path, TenantConfig)


def test_unknown_sensitive_topic_and_bad_regex_are_rejected(tmp_path, taxonomy):
    _write_tenant(tmp_path, lambda raw: raw.update(sensitive_topics=["barn_unga_familj", "hemligt"]))
    with pytest.raises(ConfigError, match="hemligt"):
        load_tenant(tmp_path, "solvik", taxonomy)
    path = _write_tenant(tmp_path, lambda raw: raw["referral"]["authorities"]["polisen"].update(patterns=["(unclosed"]))
    with pytest.raises(ConfigError, match="not a valid regex"):
        load_yaml(path, TenantConfig)
