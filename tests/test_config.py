import pytest

from llmar.config import Config, apply_overrides


def test_yaml_roundtrip_and_overrides(tmp_path):
    cfg = Config()
    cfg.llm.lora_r = 32
    cfg.save(tmp_path / "c.yaml")
    loaded = Config.load(tmp_path / "c.yaml", ["train.epochs=7", "data.crop_ratio=[0.5, 1.0]", "llm.path=/x",
                                                "data.options.seed=3", "projection.learn_curvature=true"])
    assert loaded.llm.lora_r == 32
    assert loaded.train.epochs == 7
    assert loaded.data.crop_ratio == [0.5, 1.0]
    assert loaded.llm.path == "/x"
    assert loaded.data.options == {"seed": 3}
    assert loaded.projection.learn_curvature is True


def test_unknown_key_and_bad_type_are_named(tmp_path):
    (tmp_path / "bad.yaml").write_text("train:\n  epoch: 3\n")
    with pytest.raises(ValueError, match="train.epoch"):
        Config.load(tmp_path / "bad.yaml")
    with pytest.raises(ValueError, match="train.epochs"):
        apply_overrides(Config(), ["train.epochs=abc"])
    with pytest.raises(ValueError, match="no config section"):
        apply_overrides(Config(), ["nope.x=1"])
    with pytest.raises(ValueError, match="key=value"):
        apply_overrides(Config(), ["train.epochs"])


def test_list_from_comma_string():
    cfg = apply_overrides(Config(), ["llm.lora_targets=q_proj,v_proj"])
    assert cfg.llm.lora_targets == ["q_proj", "v_proj"]
