import pytest

from tapeapp import PRESETS, TapeError, TrainConfig, preset


def test_defaults_are_the_tutorial_network_stopped_early_on_held_back_training_rows():
    c = TrainConfig()
    assert (c.hidden, c.activation, c.optimizer, c.learning_rate, c.batch_size) == (
        (64, 64), "leaky_relu", "rmsprop", 1e-3, 32)
    assert (c.epochs, c.patience, c.inner_fraction, c.cv_below) == (200, 20, 0.2, 1000)


def test_tutorial_preset_is_exactly_the_tutorial():
    c = preset("Tutorial")
    assert c.preprocessing == "tutorial" and c.val_fraction == 0.4 and c.hidden == (64, 64)
    assert c.split == "random" and TrainConfig().split == "stratified"
    assert c.epochs == 60 and c.batch_size == 32 and c.learning_rate == 1e-3 and c.patience == 0
    assert preset("Quick look").patience == 0  # 15 epochs, the last kept: a first answer, fast


def test_every_preset_has_a_reason():
    assert {"tutorial", "quick_look", "bigger_network", "careful"} <= set(PRESETS)
    assert all(p.why for p in PRESETS.values())


def test_round_trip_through_strings_like_url_parameters():
    c = TrainConfig(hidden=(32, 16), dropout=0.25, optimizer="adam", seed=7)
    params = {k: str(v) if k != "hidden" else ",".join(map(str, v)) for k, v in c.to_dict().items()}
    assert TrainConfig.from_dict(params) == c


@pytest.mark.parametrize("changes, words", [
    ({"hidden": ()}, "between 1 and 6 hidden layers"),
    ({"hidden": (8,) * 7}, "between 1 and 6 hidden layers"),
    ({"learning_rate": 0.0}, "learning rate"),
    ({"batch_size": 0}, "batch size"),
    ({"val_fraction": 0.99}, "validation share"),
    ({"activation": "magic"}, "Unknown activation"),
    ({"split": "alphabetical"}, "Unknown split 'alphabetical'; choose one of stratified, random"),
    ({"epochs": -1}, "epochs"),
])
def test_impossible_settings_are_user_errors(changes, words):
    with pytest.raises(TapeError, match=words):
        TrainConfig(**changes)


def test_unknown_and_malformed_settings():
    with pytest.raises(TapeError, match="Unknown setting"):
        TrainConfig.from_dict({"colour": "blue"})
    with pytest.raises(TapeError, match="not a valid value"):
        TrainConfig.from_dict({"epochs": "many"})
    with pytest.raises(TapeError, match="whole numbers"):
        TrainConfig.from_dict({"hidden": "64,big"})
