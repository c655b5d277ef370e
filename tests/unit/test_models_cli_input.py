"""python -m mctrt.models prepare / quantize and build_engines given bad paths or the wrong model: a
refusal naming the path and the fix, exit 2, before any slow work, and never a model file harmed.

The quantize cases give a calibration path that does not exist: a refusal that came after the
calibration frames are read would name that path instead of the one at fault.
"""

import shutil

import onnx
import pytest

from mctrt.build_engines import main as build_engines_main
from mctrt.errors import MctrtError
from mctrt.models.__main__ import main
from mctrt.models.prepare import prepare


@pytest.fixture
def detector(assets, tmp_path):
    """A writable copy of the YOLOv8n detector in tmp_path."""
    path = tmp_path / "detector.onnx"
    shutil.copyfile(assets / "models/yolov8n_coco_fp32.onnx", path)
    return path


def command(name, source, target, tmp_path):
    """The argv of `name` (prepare or quantize) from source to target."""
    if name == "quantize":
        return ["quantize", str(source), str(target), "--calibration", str(tmp_path / "no-frames"), "--frames", "8"]
    return ["prepare", str(source), str(target), "--person-only"]


@pytest.mark.parametrize("name", ["prepare", "quantize"])
@pytest.mark.parametrize("link", [None, "symlink", "hardlink"])
def test_writing_over_the_input_model_is_refused_and_leaves_it_unchanged(name, link, detector, tmp_path, capsys):
    target = detector
    if link == "symlink":
        target = tmp_path / "link.onnx"
        target.symlink_to(detector)
    elif link == "hardlink":
        target = tmp_path / "link.onnx"
        target.hardlink_to(detector)
    before = detector.read_bytes()
    assert main(command(name, detector, target, tmp_path)) == 2
    err = capsys.readouterr().err
    assert f"error: cannot write {target}: it is the input model {detector}" in err
    assert "give a different output path" in err
    assert detector.read_bytes() == before


@pytest.mark.parametrize("name", ["prepare", "quantize"])
@pytest.mark.parametrize(
    "target, reason",
    [
        pytest.param("out", "it is a folder; give the path of an .onnx file", id="output is a folder"),
        pytest.param("afile/out.onnx", "{tmp}/afile is a file, not a folder; give the path of an .onnx file",
                     id="output's folder is a file"),
        pytest.param("afile/new/out.onnx", "{tmp}/afile is a file, not a folder; give the path of an .onnx file",
                     id="missing folder under a file"),
    ],
)
def test_an_output_that_cannot_be_written_is_refused_up_front(name, target, reason, detector, tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "afile").write_text("not a folder")
    assert main(command(name, detector, tmp_path / target, tmp_path)) == 2
    assert f"error: cannot write {tmp_path / target}: {reason.format(tmp=tmp_path)}" in capsys.readouterr().err


def test_prepare_makes_missing_folders_and_leaves_no_temporary_file(detector, tmp_path, capsys):
    target = tmp_path / "new/deeper/person.onnx"
    assert main(command("prepare", detector, target, tmp_path)) == 0
    assert f"wrote {target}" in capsys.readouterr().out
    assert onnx.load(str(target)).graph.output[0].type.tensor_type.shape.dim[1].dim_value == 5
    assert sorted(p.name for p in target.parent.iterdir()) == ["person.onnx"]


def test_a_write_that_fails_part_way_keeps_the_earlier_output(detector, tmp_path, monkeypatch):
    """onnx.save writing half a file and then failing (a full disk) must leave the model already at
    the output path as it was, and no temporary file beside it."""
    target = tmp_path / "person.onnx"
    target.write_bytes(b"an earlier model")

    def half_a_save(model, path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(onnx, "save", half_a_save)
    with pytest.raises(MctrtError, match=f"cannot write {target}: No space left on device; give an output path"):
        prepare(detector, target, person_only=True)
    assert target.read_bytes() == b"an earlier model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["detector.onnx", "person.onnx"]


def test_quantize_given_the_reid_model_names_the_file_and_the_fix(assets, tmp_path, capsys):
    reid = assets / "models/osnet_x0_25_market1501.onnx"
    assert main(command("quantize", reid, tmp_path / "int8.onnx", tmp_path)) == 2
    err = capsys.readouterr().err
    assert f"error: detector model {reid}: output shape" in err
    assert err.rstrip().endswith("give a YOLOv8 or YOLOX export")
    assert not (tmp_path / "int8.onnx").exists()


def test_build_engines_given_the_reid_model_as_detector_names_the_file_and_the_fix(assets, tmp_path, capsys):
    reid = assets / "models/osnet_x0_25_market1501.onnx"
    assert build_engines_main(["--detector", str(reid), "--engine-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"error: detector model {reid}: output shape" in err
    assert err.rstrip().endswith("give a YOLOv8 or YOLOX export")


def test_a_folder_given_as_the_model_is_called_a_folder(tmp_path, capsys):
    folder = tmp_path / "models"
    folder.mkdir()
    assert main(["prepare", str(folder), str(tmp_path / "out.onnx")]) == 2
    assert f"error: model {folder} is a folder; give an .onnx model file" in capsys.readouterr().err
