"""The project file: it reopens a run exactly as it was and its model predicts; a bad, foreign or changed zip is
refused in one plain sentence before anything in it is used."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zipfile

import numpy as np
import pytest

from helpers.tables import make_binary
from tapeapp import TapeError, TrainConfig, inspect_frame, load_sample, predict_with_model, read_table, start_run
from tapeapp.keep.export import save_run
from tapeapp.keep.project import (
    FILES,
    OPTIONAL,
    data_name,
    is_project,
    keras_model,
    load_predictor,
    model_from_project,
    open_project,
    project_files,
    project_zip,
    write_project,
)
from tapeapp.keep.records import TableSource, restore_run
from tapeapp.version import __version__

NOT_A_PROJECT = r"^This zip \('project\.zip'\) is not a tapeapp project \("
CHANGED = r"^The project 'project\.zip' was changed after it was saved \("


@pytest.fixture(scope="module")
def made():
    frame = make_binary()
    raw = frame.to_csv(index=False).encode()
    table = read_table(raw, "patients.csv")
    schema = inspect_frame(table.frame, target="target")
    run = start_run(table.frame, schema, TrainConfig(hidden=(8,), epochs=3, val_fraction=0.25),
                    source_sha256=table.info.sha256).fit()
    source = TableSource.upload(raw, table.info)
    data = project_zip(run, schema, source, state={"knobs": {"epochs": 3}}, number=4, extra={"table": "patients.csv"})
    return table, schema, run, source, data


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _rezip(files: dict[str, bytes], fix_manifest: bool = False) -> bytes:
    """The files zipped again; with ``fix_manifest``, as a forger would: the manifest made to match."""
    files = dict(files)
    if fix_manifest:
        manifest = json.loads(files["manifest.json"])
        manifest["files"] = {n: {"sha256": hashlib.sha256(d).hexdigest(), "bytes": len(d)}
                             for n, d in files.items() if n != "manifest.json"}
        files["manifest.json"] = json.dumps(manifest).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _one_sentence(error: pytest.ExceptionInfo) -> str:
    text = str(error.value)
    assert "\n" not in text and text.endswith(".") and "Traceback" not in text
    return text


def test_the_project_holds_every_file_with_a_manifest(made):
    table, schema, run, source, data = made
    files = _members(data)
    assert set(files) == {*FILES, "data/patients.csv"} - OPTIONAL  # no frame, no report asked for
    assert files["data/patients.csv"] == source.data
    manifest = json.loads(files["manifest.json"])
    assert manifest["tapeapp"] == __version__ and manifest["format"] == "tapeapp project"
    assert manifest["created"][:2] == "20" and manifest["created"].endswith("+00:00")
    assert {n: v["sha256"] for n, v in manifest["files"].items()} == {
        n: hashlib.sha256(d).hexdigest() for n, d in files.items() if n != "manifest.json"}
    assert files["importance.csv"].startswith(b"column,importance,std")
    assert is_project(data) and not is_project(source.data) and not is_project(b"PK\x03\x04junk")


def test_a_project_reopens_the_run_exactly_without_training(made, monkeypatch):
    table, schema, run, source, data = made
    monkeypatch.setattr("tapeapp.train.run.Run.epochs", lambda *a, **k: pytest.fail("a reopened run trained again"))
    project = open_project(data)
    assert project.state == {"knobs": {"epochs": 3}} and project.record.number == 4
    assert project.record.extra == {"table": "patients.csv"}
    assert project.table.data == source.data and project.table.name == "patients.csv"
    restored = restore_run(project.record, project.table.read().frame)
    assert [u.row() for u in restored.history] == [u.row() for u in run.history]
    for got, want in zip(restored.model.get_weights(), run.model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert restored.predict(restored.prepared.raw_val).equals(run.predict(run.prepared.raw_val))
    assert (restored.stopped_because, restored.message) == (run.stopped_because, run.message)


def test_the_table_can_be_left_out(made):
    table, schema, run, source, _ = made
    files = project_files(run, schema, source, include_table=False, importance=None)
    assert not any(name.startswith("data/") for name in files)
    project = open_project(project_zip(run, schema, source, include_table=False))
    assert not project.table.available and project.table.sha256 == source.sha256
    with pytest.raises(TapeError, match=r"^The table 'patients\.csv' was left out of this project"):
        project.table.read()
    restored = restore_run(project.record, table.frame)  # the user uploads the same file again
    assert restored.predict(restored.prepared.raw_val).equals(run.predict(run.prepared.raw_val))


def test_a_built_in_sample_is_named_not_packed():
    frame = load_sample("iris").frame
    schema = inspect_frame(frame, target="species")
    run = start_run(frame, schema, TrainConfig(hidden=(4,), epochs=1)).fit()
    project = open_project(project_zip(run, schema, TableSource.builtin("iris")))
    assert project.table.sample == "iris" and project.table.available
    restore_run(project.record, project.table.read().frame)


def test_the_model_of_a_project_predicts_like_the_run(made, tmp_path):
    table, schema, run, source, data = made
    path = tmp_path / "project.zip"
    path.write_bytes(data)
    rows = table.frame.drop(columns="target").head(7)
    model, meta = model_from_project(path)
    got = predict_with_model(model, meta, rows)
    np.testing.assert_allclose(got["probability_1"], run.predict(rows)["probability_1"], rtol=1e-5, atol=1e-6)
    loaded, _ = load_predictor(path)  # predict takes a project ...
    keras_file = save_run(run, tmp_path / "plain")[0]
    plain, plain_meta = load_predictor(keras_file)  # ... or a model.keras, told apart by their contents
    assert plain_meta == meta and loaded is not None and plain is not None


def test_the_command_line_writes_a_folder_or_a_zip_of_the_same_files(made, tmp_path):
    table, schema, run, source, _ = made
    written = write_project(tmp_path / "out", run, schema, source, read_options={"delimiter": ","})
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == sorted(
        {*FILES, "data/patients.csv"} - OPTIONAL)
    [zipped] = write_project(tmp_path / "deep" / "run.zip", run, schema, source)
    assert zipped.name == "run.zip" and not list((tmp_path / "deep").glob("*.part"))
    assert set(_members(zipped.read_bytes())) == {p.relative_to(tmp_path / "out").as_posix() for p in written}
    open_project(zipped.read_bytes())


@pytest.mark.parametrize("name, safe", [("heart.csv", "data/heart.csv"), ("../../etc/passwd", "data/passwd"),
                                        ("C:\\Users\\me\\x.xlsx", "data/x.xlsx"), ("..", "data/table"),
                                        (".hidden.csv", "data/hidden.csv"), ("a*b?<c>.csv", "data/a_b__c_.csv"),
                                        ("", "data/table"), ("é" * 300, "data/" + "_" * 100)])
def test_the_table_gets_a_safe_name_in_the_archive(name, safe):
    assert data_name(name) == safe


# ------------------------------------------------------------------------------------------------------ guards

def test_an_extra_member_is_refused(made):
    files = {**_members(made[-1]), "evil.sh": b"rm -rf ~"}
    for fixed in (False, True):
        with pytest.raises(TapeError, match=NOT_A_PROJECT + r"it holds a file that tapeapp does not write, "
                                                           r"'evil\.sh'\)") as error:
            open_project(_rezip(files, fix_manifest=fixed))
        _one_sentence(error)


@pytest.mark.parametrize("bad", ["../run.json", "/run.json", "data/../run.json", "data\\..\\x.csv", "C:/x.csv"])
def test_a_path_out_of_the_archive_is_refused(made, bad):
    files = _members(made[-1])
    files[bad] = files.pop("run.json")
    with pytest.raises(TapeError, match=NOT_A_PROJECT + r"a file in it points outside the archive\)") as error:
        open_project(_rezip(files, fix_manifest=True))
    _one_sentence(error)


def _declare_size(data: bytes, member: str, size: int) -> bytes:
    """The archive with one member's uncompressed size in the central directory changed: a bomb's lie."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        name_length = struct.unpack_from("<H", out, at + 28)[0]
        if out[at + 46:at + 46 + name_length].decode() == member:
            struct.pack_into("<I", out, at + 24, size)
            return bytes(out)
        at = out.find(b"PK\x01\x02", at + 4)
    raise AssertionError(member)


def test_a_zip_bomb_is_refused_by_its_declared_sizes_before_unpacking(made, monkeypatch):
    data = made[-1]
    many, opened = _rezip({**_members(data), **{f"data/t{i}.csv": b"a" for i in range(40)}}), []
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *a, **k: opened.append(a) or pytest.fail("unpacked"))
    with pytest.raises(TapeError, match=NOT_A_PROJECT + r"'history\.csv' in it would unpack to 4,000 MB") as error:
        open_project(_declare_size(data, "history.csv", 4_000_000_000))
    _one_sentence(error)
    with pytest.raises(TapeError, match=NOT_A_PROJECT + r"it holds 51 files, more than a project has\)"):
        open_project(many)
    assert opened == []


def test_a_member_smaller_than_it_says_is_refused(made):
    lied = _declare_size(made[-1], "reproduce.py", 10)  # declares less than it holds: zipfile stops, CRC fails
    with pytest.raises(TapeError, match=NOT_A_PROJECT + r"it is damaged: its files cannot be unpacked\)"):
        open_project(lied)


def test_a_file_changed_after_saving_is_refused(made):
    files = _members(made[-1])
    files["history.csv"] = files["history.csv"].replace(b"0.", b"9.", 1)
    with pytest.raises(TapeError, match=CHANGED + r"'history\.csv' does not match its manifest\)") as error:
        open_project(_rezip(files))
    _one_sentence(error)
    del files["importance.csv"]
    with pytest.raises(TapeError, match=CHANGED + r"'importance\.csv' has been taken out\)"):
        open_project(_rezip(files))


class _Boom:
    """Unpickling this would run code: the test fails if it ever is."""

    def __reduce__(self):
        return (pytest.fail, ("a pickle inside weights.npz was unpickled",))


def test_a_weights_file_holding_a_pickle_is_refused_unopened(made):
    files = _members(made[-1])
    buffer = io.BytesIO()
    np.savez(buffer, w000=np.array([_Boom()], dtype=object))
    files["weights.npz"] = buffer.getvalue()
    with pytest.raises(TapeError, match=NOT_A_PROJECT + r"its saved run cannot be read back\)") as error:
        open_project(_rezip(files, fix_manifest=True))
    _one_sentence(error)


def test_a_changed_model_is_refused_by_the_model_files_own_checks(made, tmp_path):
    files = _members(made[-1])
    with zipfile.ZipFile(io.BytesIO(files["model.keras"])) as model:
        parts = {info.filename: model.read(info) for info in model.infolist()}
    config = json.loads(parts["config.json"])
    config["config"]["layers"].append({"class_name": "Lambda", "config": {"function": "print"}})
    parts["config.json"] = json.dumps(config).encode()
    files["model.keras"] = _rezip(parts)
    forged = tmp_path / "forged.zip"
    forged.write_bytes(_rezip(files, fix_manifest=True))
    with pytest.raises(TapeError, match=r"^'model\.keras' is not a model saved by tapeapp"):
        model_from_project(forged)
    with pytest.raises(TapeError, match=r"is not a model saved by tapeapp"):
        keras_model(b"PK\x05\x06" + b"\0" * 18)


@pytest.mark.parametrize("data, why", [
    (b"age,target\n1,0\n", r"it is not a zip archive\)"),
    (b"PK\x03\x04" + b"\0" * 100, r"it is not a whole zip archive\)"),
])
def test_other_files_are_refused_in_one_sentence(data, why):
    with pytest.raises(TapeError, match=NOT_A_PROJECT + why) as error:
        open_project(data)
    _one_sentence(error)


def test_a_zipped_table_or_a_truncated_project_is_refused(made):
    zipped = _rezip({"patients.csv": made[3].data})
    with pytest.raises(TapeError, match=NOT_A_PROJECT + r"it holds a file that tapeapp does not write"):
        open_project(zipped)
    with pytest.raises(TapeError, match=NOT_A_PROJECT + r"it is not a whole zip archive\)"):
        open_project(made[-1][: len(made[-1]) // 2])
    files = _members(made[-1])
    del files["run.json"]
    with pytest.raises(TapeError, match=NOT_A_PROJECT + r"'run\.json' is missing from it\)"):
        open_project(_rezip(files, fix_manifest=True))


def test_a_project_from_a_newer_tapeapp_says_so(made):
    files = _members(made[-1])
    manifest = json.loads(files["manifest.json"])
    manifest.update(format_version=99, tapeapp="9.0")
    files["manifest.json"] = json.dumps(manifest).encode()
    with pytest.raises(TapeError, match=r"^This project was saved by a newer tapeapp \('9\.0'\); update tapeapp"):
        open_project(_rezip(files))


def test_a_project_is_measured_by_what_it_unpacks_to(made, monkeypatch):
    from tapeapp.data import budget

    data = made[4]
    unpacked = sum(len(d) for d in _members(data).values())
    monkeypatch.setattr(budget, "budget_bytes", lambda: 10 * unpacked)
    monkeypatch.setattr(budget, "process_bytes", lambda: 10 * unpacked - unpacked // 2)  # half of it is free now
    with pytest.raises(budget.NoRoomYet, match="opening this project takes about"):
        open_project(data)
    monkeypatch.setattr(budget, "budget_bytes", lambda: unpacked)
    monkeypatch.setattr(budget, "process_bytes", lambda: unpacked // 2)  # more than this server could ever give
    with pytest.raises(TapeError, match="This project unpacks to about") as refused:
        open_project(data)
    assert not isinstance(refused.value, budget.NoRoomYet)
    monkeypatch.setattr(budget, "process_bytes", lambda: 0)
    monkeypatch.setattr(budget, "budget_bytes", lambda: 2 * unpacked)
    assert open_project(data).record.number == 4
