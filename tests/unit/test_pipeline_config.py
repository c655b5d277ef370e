"""Configuration files: demo.yaml loads, ${VAR:-default} expands, and every bad key or value stops the
load with ConfigError naming it."""

import dataclasses
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from mctrt.config import InputConfig, config_from_dict, expand_env, load_config
from mctrt.errors import ConfigError, SourceError
from mctrt.io.sources import open_capture

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def minimal(**sections):
    data = {"inputs": [{"camera_id": "a", "path": "a.mp4"}, {"camera_id": "b", "path": "rtsp://10.0.0.2/live"}],
            "modules": {"detector": {"model": "det.onnx"}}}
    data.update(sections)
    return data


@pytest.mark.parametrize("name", ["demo.yaml", "pets09.yaml"])
def test_shipped_configs_load(name, monkeypatch):
    monkeypatch.setenv("MCTRT_ASSETS", "/assets")
    config = load_config(CONFIGS / name)
    assert config.inputs[0].path.startswith("/assets/data/")
    assert config.detector.model == "/assets/models/yolov8n_coco_fp32.onnx"
    assert config.reid is not None and config.tracker.frame_rate == 10


def test_a_tracker_frame_rate_in_a_config_is_ignored_with_a_warning(caplog):
    """The tracker counts capture-time seconds whatever the cameras' rate: a frame_rate that older
    configs carry (25, or anything) changes nothing, and the log says to delete it."""
    plain = config_from_dict(minimal(), Path("/configs"))
    with caplog.at_level("WARNING", logger="mctrt.config.loader"):
        old = config_from_dict(minimal(modules={"detector": {"model": "det.onnx"},
                                                "tracker": {"frame_rate": 25, "track_thresh": 0.5}}), Path("/configs"))
    assert old.tracker == dataclasses.replace(plain.tracker, track_thresh=0.5)
    assert old.tracker.frame_rate == plain.tracker.frame_rate == 10
    assert "modules.tracker.frame_rate is no longer read (delete it)" in caplog.text


def test_demo_defaults_to_assets_beside_the_project(monkeypatch):
    monkeypatch.delenv("MCTRT_ASSETS", raising=False)
    config = load_config(CONFIGS / "demo.yaml")
    west = CONFIGS.resolve().parents[1] / "shared/data/pets09_split2/west/west.mp4"
    assert Path(os.path.normpath(config.inputs[0].path)) == west
    assert config.association.window("west", "east").max_s == 30.0
    assert config.events.lines[0].camera_id == "west" and config.store.path.endswith("runs/mctrt.db")


def test_a_relative_assets_folder_is_taken_from_where_the_command_runs(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MCTRT_ASSETS", "../shared")  # as typed beside the project: MCTRT_ASSETS=../shared
    config = load_config(CONFIGS / "demo.yaml")
    assert config.detector.model == str(tmp_path.parent / "shared/models/yolov8n_coco_fp32.onnx")
    monkeypatch.setenv("SUFFIX", "../x")  # not at the start of a value: left as written
    assert expand_env("a/${SUFFIX}", "test") == "a/../x"


def test_relative_paths_follow_the_file_and_streams_are_left_alone(tmp_path):
    config = config_from_dict(minimal(), tmp_path)
    assert config.inputs[0].path == str(tmp_path / "a.mp4") and config.inputs[0].kind == "file"
    assert config.inputs[1].path == "rtsp://10.0.0.2/live" and config.inputs[1].kind == "stream"
    assert config.detector.model == str(tmp_path / "det.onnx")
    webcam = config_from_dict({**minimal(), "inputs": [{"camera_id": "w", "path": 0}]}, tmp_path)
    assert webcam.inputs[0].kind == "webcam" and webcam.inputs[0].path == "0"


def test_unset_variable_without_default_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_SUCH_VAR", raising=False)
    path = tmp_path / "c.yaml"
    path.write_text("# ${IN_A_COMMENT} is fine\ninputs:\n  - camera_id: a\n    path: ${NO_SUCH_VAR}/a.mp4\n"
                    "modules: {detector: {model: m}}\n")
    with pytest.raises(ConfigError, match=r"uses \$\{NO_SUCH_VAR\}, which is not set"):
        load_config(path)


def test_a_missing_file_whose_path_came_from_an_unset_variables_default_names_the_variable(tmp_path, monkeypatch, capsys):
    """The quick start's config reads ${MCTRT_ASSETS:-../../shared}: run from a checkout that does not
    sit beside the shared folder, the missing model should point at the variable, not only the path."""
    from mctrt.run import main

    monkeypatch.delenv("MCTRT_ASSETS", raising=False)
    config = tmp_path / "configs" / "demo.yaml"
    config.parent.mkdir()
    # its comments show ${VAR:-default} too (not a value); a port's default is no path
    config.write_text((CONFIGS / "demo.yaml").read_text().replace("port: 8000", "port: ${MCTRT_NO_SUCH_PORT:-8000}"))
    assert main(["--config", str(config), "--offline", "--output", str(tmp_path / "out"), "--no-server"]) == 2
    err = capsys.readouterr().err
    assert "models/yolov8n_coco_fp32.onnx does not exist" in err
    assert err.count("note:") == 1 and ("note: MCTRT_ASSETS is not set, so the config's ${MCTRT_ASSETS:-../../shared} "
                                        "became ../../shared (relative to the config's folder); set MCTRT_ASSETS") in err
    monkeypatch.setenv("MCTRT_ASSETS", str(tmp_path / "elsewhere"))  # set, and wrong: the path says it all
    assert main(["--config", str(config), "--offline", "--output", str(tmp_path / "out"), "--no-server"]) == 2
    assert "elsewhere/models/yolov8n_coco_fp32.onnx does not exist" in (err := capsys.readouterr().err) and "note:" not in err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"camera": {}}, r"unknown sections \['camera'\]; valid sections: inputs, modules"),
        ({"inputs": []}, "inputs must list at least one camera"),
        ({"inputs": [{"camera_id": "a", "path": "x"}, {"camera_id": "a", "path": "y"}]}, "camera_id a is used twice"),
        ({"inputs": [{"camera_id": "a b", "path": "x"}]}, "camera_id must be a name of letters"),
        ({"inputs": [{"camera_id": "a", "path": "x", "fsp": 3}]}, r"inputs\[0\] has unknown keys \['fsp'\]"),
        ({"inputs": [{"camera_id": "a"}]}, r"inputs\[0\].path is required"),
        ({"inputs": [{"camera_id": "a", "path": "x", "rtsp_transport": "http"}]}, "rtsp_transport must be tcp or udp"),
        ({"inputs": [{"camera_id": "a", "path": "rtsp://"}]}, r"inputs\[a\].path rtsp:// names no host; give a URL such as rtsp://HOST"),
        ({"inputs": [{"camera_id": "a", "path": "http:///live.mjpg"}]}, r"inputs\[a\].path http:///live.mjpg names no host"),
        ({"inputs": [{"camera_id": "a", "path": "rtsp://[::1/cam"}]}, r"inputs\[a\].path rtsp://\[::1/cam is not a valid URL"),
        ({"modules": {}}, "modules.detector is required"),
        ({"modules": {"detector": {"model": "m"}, "tracker": {"track_tresh": 0.5}}}, r"modules.tracker has unknown keys \['track_tresh'\]"),
        ({"modules": {"detector": {"model": "m"}, "reid": {"model": "r", "every_n": 5}}}, r"modules.reid has unknown keys \['every_n'\]"),
        # a track's own embedding average was validated but never used: gone (association.ema is the one)
        ({"modules": {"detector": {"model": "m"}, "reid": {"model": "r", "ema": 0.8}}}, r"modules.reid has unknown keys \['ema'\]"),
        ({"modules": {"detector": {"model": "m"}, "reid": {"model": "r", "every_n_frames": 0}}}, "every_n_frames must be an integer >= 1"),
        ({"association": {"match_threshold": 2}}, "association.match_threshold must be a number"),
        ({"association": {"transit_windows": [{"cameras": ["a", "c"], "max_s": 5}]}}, "names camera 'c', which is not in inputs"),
        ({"association": {"transit_windows": [{"cameras": ["a", "b"], "min_s": 9, "max_s": 5}]}}, "max_s must be a number >= 9"),
        ({"events": {"lines": [{"name": "l", "camera_id": "a", "points": [[0, 0]]}]}}, "points must be a list of exactly 2"),
        # a third point was cut off silently: a line is a segment a -> b
        ({"events": {"lines": [{"name": "l", "camera_id": "a", "points": [[0, 0], [5, 0], [5, 5]]}]}}, "points must be a list of exactly 2"),
        ({"events": {"lines": [{"name": "l", "camera_id": "a", "points": [[3, 4], [3, 4]]}]}}, "two ends are the same point"),
        ({"events": {"zones": [{"name": "z", "camera_id": "a", "polygon": [[0, 0], [1, 0], [2, 0]]}]}}, "encloses no area"),
        # events, occupancy and the engine's state are keyed by name: two of one name mixed their visits
        ({"events": {"zones": [{"name": "door", "camera_id": "a", "polygon": [[0, 0], [9, 0], [9, 9]]},
                               {"name": "door", "camera_id": "b", "polygon": [[0, 0], [9, 0], [9, 9]]}]}},
         r"events.zones: the name 'door' is used twice"),
        ({"events": {"lines": [{"name": "l", "camera_id": "a", "points": [[0, 0], [9, 0]]},
                               {"name": "l", "camera_id": "b", "points": [[0, 0], [9, 0]]}]}}, r"events.lines: the name 'l' is used twice"),
        # a setting in the other shape's units was accepted and ignored
        ({"events": {"zones": [{"name": "z", "polygon_m": [[0, 0], [1, 0], [1, 1]], "hysteresis_px": 8}]}},
         r"zones\[z\].hysteresis_px does not apply: this one is drawn on the floor \(metres\); use hysteresis_m"),
        ({"events": {"lines": [{"name": "l", "camera_id": "a", "points": [[0, 0], [9, 0]], "hysteresis_m": 0.3}]}},
         r"lines\[l\].hysteresis_m does not apply: this one is drawn on an image \(pixels\); use hysteresis_px"),
        ({"events": {"zones": [{"name": "z", "camera_id": "zz", "polygon": [[0, 0], [1, 0], [1, 1]]}]}}, "names camera 'zz'"),
        ({"events": {"dwell_threshold_s": -1}}, "dwell_threshold_s must be a number > 0"),
        ({"server": {"port": 70000}}, "server.port must be an integer >= 0 and <= 65535"),
        ({"server": {"token": ""}}, "server.token must be a non-empty string"),
        ({"server": {"jpeg_quality": 0}}, "server.jpeg_quality must be an integer >= 1 and <= 100"),
        ({"server": {"jpeg_max_fps": 0}}, "server.jpeg_max_fps must be a number > 0"),
        ({"server": {"client_queue": 0}}, "server.client_queue must be an integer >= 1"),
        ({"server": {"trail_s": -1}}, "server.trail_s must be a number >= 0.0 and <= 60.0"),
        ({"server": {"allowed_origins": ["ops.example.com"]}}, 'server.allowed_origins must be a list of origins'),
        ({"server": {"allowed_origins": ["https://ops.example.com/dashboard"]}}, 'server.allowed_origins must be a list of origins'),
        ({"server": {"allowed_origins": ["https://ops.example.com:http"]}}, 'server.allowed_origins must be a list of origins'),
        ({"server": {"allowed_hosts": ["https://ops.example.com"]}}, "server.allowed_hosts must be a list of host names"),
        ({"server": {"allowed_hosts": ["ops.example.com:8000"]}}, "server.allowed_hosts must be a list of host names"),
        ({"server": {"tls": True}}, r"server has unknown keys \['tls'\]"),
        ({"store": {"file": "x.db"}}, r"store has unknown keys \['file'\]"),
        ({"association": {"floor": {"gate": 3}}}, r"association.floor has unknown keys \['gate'\]"),
        ({"association": {"floor": {"gate_sigma": 0}}}, "association.floor.gate_sigma must be a number > 0"),
        ({"association": {"floor": {"view_margin": 0.7}}}, "association.floor.view_margin must be a number >= 0.0 and <= 0.5"),
        ({"events": {"zones": [{"name": "z", "polygon_m": [[0, 0], [1, 0], [1, 1]]}]}}, "is on the floor .* but no camera has a calibration"),
        ({"events": {"zones": [{"name": "z", "camera_id": "a", "polygon": [[0, 0], [1, 0], [1, 1]],
                                "polygon_m": [[0, 0], [1, 0], [1, 1]]}]}}, "give either camera_id and polygon .* or polygon_m"),
        ({"events": {"lines": [{"name": "l", "camera_id": "a"}]}}, r"events.lines\[l\] needs points \(with camera_id\) or points_m"),
        ({"events": {"camera_health": {"offline_after_s": 0}}}, "events.camera_health.offline_after_s must be a number > 0"),
        ({"events": {"camera_health": {"offline_s": 3}}}, r"events.camera_health has unknown keys \['offline_s'\]"),
        ({"server": {"floor_plan": {"image": "p.png", "y_axis": "left"}}}, "server.floor_plan.y_axis must be up or down"),
        ({"inputs": [{"camera_id": "world", "path": "x"}]}, "camera_id 'world' is taken by the floor positions' results file"),
        ({"modules": {"detector": {"model": None}}}, "modules.detector.model must be the path of an .onnx file; got None"),
        ({"modules": {"detector": {"model": "m"}, "reid": {"model": 7}}}, "modules.reid.model must be the path of an .onnx file"),
        ({"modules": {"detector": {"model": "m", "input_size": 640}}}, "modules.detector.input_size must be \\[H, W\\]"),
        ({"modules": {"detector": {"model": "m"}, "tracker": {"track_thresh": 2}}}, r"^modules.tracker.track_thresh must be in \[0, 1\]"),
        ({"modules": {"detector": {"model": "m", "backend_options": ["onnxruntime"]}}}, "backend_options must map a backend name"),
        ({"modules": {"detector": {"model": "m", "backend_options": {"onnxruntime": 5}}}}, "backend_options must map a backend name"),
        ({"store": {"path": 5}}, "store.path must be the path of an SQLite file"),
        ({"output": {"fill_gaps_s": -1}}, "output.fill_gaps_s must be"),
        ({"output": {"fill_gaps_s": "2 s"}}, "output.fill_gaps_s must be"),
        ({"output": {"smooth_s": -0.1}}, "output.smooth_s must be"),
        ({"output": {"settle_after_s": 1}}, r"output.settle_after_s must be 0 or at least output.fill_gaps_s \+ output.smooth_s \(2.2\)"),
        ({"output": {"settle_after_s": -5}}, "output.settle_after_s must be"),
        ({"output": {"fill_gaps": 20}}, r"output has unknown keys \['fill_gaps'\]"),
        ({"events": {"dwell_per_camera": [1, 2]}}, "events.dwell_per_camera must map camera_id to seconds"),
        ({"association": {"default_window": 5}}, "association.default_window must be a mapping"),
        ({"inputs": [{"camera_id": "a", "path": "x", "calibration": {}}]}, "calibration needs exactly one form"),
        ({"inputs": [{"camera_id": "a", "path": "x", "calibration": {"image_to_floor": [[1, 0], [0, 1]]}}]},
         r"inputs\[a\].calibration.image_to_floor must be a 3x3 matrix"),
    ],
)
def test_bad_config_names_the_key(change, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(minimal(**change), tmp_path)


def test_a_setting_given_whole_by_a_variable_is_read_as_the_file_would_read_it(tmp_path, monkeypatch):
    """${PORT:-8080} was the string '8080', refused where a number is needed; strings stay strings."""
    monkeypatch.setenv("LOOP", "true")
    monkeypatch.setenv("TOKEN", "123456")
    path = tmp_path / "c.yaml"
    path.write_text("inputs:\n  - {camera_id: a, path: a.mp4, loop: '${LOOP}', fps: '${FPS:-12.5}'}\n"
                    "modules: {detector: {model: m}}\nserver: {port: '${PORT:-8080}', token: '${TOKEN}'}\n")
    config = load_config(path)
    assert (config.server.port, config.inputs[0].loop, config.inputs[0].fps) == (8080, True, 12.5)
    assert config.server.token == "123456"


def test_unknown_keys_of_mixed_types_are_named(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown sections \[1, 'foo'\]"):  # sorting them raised a TypeError
        config_from_dict({**minimal(), 1: "a", "foo": "b"}, tmp_path)


def test_a_home_relative_path_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = config_from_dict(minimal(inputs=[{"camera_id": "a", "path": "~/a.mp4"}], store={"path": "~/m.db"},
                                      modules={"detector": {"model": "~/det.onnx"}}), tmp_path / "configs")
    assert config.inputs[0].path == str(tmp_path / "home/a.mp4")
    assert (config.store.path, config.detector.model) == (str(tmp_path / "home/m.db"), str(tmp_path / "home/det.onnx"))


def test_a_config_that_is_not_text_is_refused_naming_it(tmp_path):
    path = tmp_path / "photo.yaml"
    path.write_bytes(b"\xff\xd8\xff\xe0 a jpeg")
    with pytest.raises(ConfigError, match="config file .*photo.yaml cannot be read as text"):
        load_config(path)


def test_floor_trails_default_to_five_seconds_and_zero_turns_them_off(tmp_path, monkeypatch):
    assert config_from_dict(minimal(), tmp_path).server.trail_s == 5.0
    assert config_from_dict(minimal(server={"trail_s": 0}), tmp_path).server.trail_s == 0
    monkeypatch.setenv("MCTRT_ASSETS", "/assets")
    assert load_config(CONFIGS / "demo.yaml").server.trail_s == 5.0


def test_floor_settings_load_with_their_paths_relative_to_the_file(tmp_path):
    data = minimal(
        inputs=[{"camera_id": "a", "path": "a.mp4", "calibration": {"image_to_floor": [[0.01, 0, 0], [0, 0.01, 0], [0, 0, 1]]}}],
        association={"floor": {"gate_sigma": 2.5}},
        events={"zones": [{"name": "hall", "polygon_m": [[0, 0], [5, 0], [5, 5]]}],
                "lines": [{"name": "door", "points_m": [[0, 0], [0, 2]], "hysteresis_m": 0.3}],
                "camera_health": {"min_fps": 5}},
        server={"floor_plan": {"image": "plan.png", "origin_px": [10, 20], "pixels_per_m": 40}})
    cv2.imwrite(str(tmp_path / "plan.png"), np.zeros((4, 4, 3), np.uint8))
    config = config_from_dict(data, tmp_path)
    assert config.inputs[0].calibration.camera.to_floor([[100, 200]]).tolist() == [[1.0, 2.0]]
    assert config.association.floor.gate_sigma == 2.5 and config.events.camera_health.min_fps == 5
    assert config.events.zones[0].on_floor and config.events.lines[0].on_floor and config.events.lines[0].camera_id is None
    assert config.server.floor_plan.image == str(tmp_path / "plan.png") and config.server.floor_plan.origin_px == (10.0, 20.0)


@pytest.mark.parametrize(("make", "message"), [
    (lambda path: None, "does not exist"),
    (lambda path: path.mkdir(), "is a folder"),
    (lambda path: path.write_text("not a picture"), "is not a PNG or JPEG image"),
])
def test_a_floor_plan_that_is_no_picture_is_named(make, message, tmp_path):
    make(tmp_path / "plan.png")  # was found out only when the dashboard asked for it (a 404)
    plan = config_from_dict(minimal(server={"floor_plan": {"image": "plan.png"}}), tmp_path).server.floor_plan
    with pytest.raises(ConfigError, match=f"floor plan .*plan.png {message}; give a PNG or JPEG"):
        plan.check_image()  # by the run's pre-flight, where a dashboard is served: a worker needs no plan


def test_a_folder_given_as_config_or_video_is_called_a_folder(tmp_path):
    with pytest.raises(ConfigError, match="is a folder; give the path of a YAML file"):
        load_config(tmp_path)
    # a folder of images is a camera (tests/integration/test_ingest.py); one without images says so
    with pytest.raises(SourceError, match=r"folder .* holds no images \(.jpg, .jpeg, .png, .bmp\); give a folder of "
                                          r"frames, or a video file, and fix inputs\[a\].path"):
        open_capture(InputConfig("a", str(tmp_path)))


def test_shipped_configs_place_pets09_on_the_floor_in_every_camera(monkeypatch):
    """demo.yaml's two strips are one frame cut in two: the same pixel of the frame is the same floor point."""
    monkeypatch.setenv("MCTRT_ASSETS", "/assets")
    demo, pets = load_config(CONFIGS / "demo.yaml"), load_config(CONFIGS / "pets09.yaml")
    frame_pixel = [[400.0, 450.0]]
    floor = pets.inputs[0].calibration.camera.to_floor(frame_pixel)
    west, east = (i.calibration.camera for i in demo.inputs)
    assert abs(west.to_floor(frame_pixel) - floor).max() < 1e-6
    assert abs(east.to_floor([[400.0 - 320.0, 450.0]]) - floor).max() < 1e-6


def test_a_config_that_leaves_the_tracker_out_gets_the_measured_tracker_the_shipped_configs_write(monkeypatch):
    """The tracker's defaults in a config file are the pipeline's measured settings (PIPELINE_TRACKER),
    not ByteTrack's own: a user's config without a tracker section tracks as the PETS09 configs do, and
    a section that sets one key changes that key only."""
    from mctrt.config import ByteTrackConfig, DetectorConfig
    from mctrt.config.models import PIPELINE_TRACKER

    monkeypatch.setenv("MCTRT_ASSETS", "/assets")
    plain = config_from_dict(minimal(), Path("/configs"))
    assert plain.tracker == PIPELINE_TRACKER != dataclasses.replace(ByteTrackConfig(), frame_rate=10)
    assert (plain.tracker.distance_gate, plain.tracker.motion_gate, plain.tracker.new_track_thresh) == (9.21, 9.49, 0.8)
    one = config_from_dict(minimal(modules={"detector": {"model": "det.onnx"}, "tracker": {"match_thresh": 0.9}}),
                           Path("/configs"))
    assert one.tracker == dataclasses.replace(PIPELINE_TRACKER, match_thresh=0.9)
    for name in ("demo.yaml", "pets09.yaml"):
        shipped = load_config(CONFIGS / name)
        assert shipped.tracker == PIPELINE_TRACKER, name
        assert shipped.detector.conf_threshold == plain.detector.conf_threshold == DetectorConfig("m").conf_threshold


def test_demo_documents_every_floor_association_key_at_its_default(monkeypatch):
    import dataclasses

    import yaml

    from mctrt.config import FloorAssociationConfig

    monkeypatch.setenv("MCTRT_ASSETS", "/assets")
    written = yaml.safe_load((CONFIGS / "demo.yaml").read_text())["association"]["floor"]
    assert set(written) == {f.name for f in dataclasses.fields(FloorAssociationConfig)}
    assert load_config(CONFIGS / "demo.yaml").association.floor == FloorAssociationConfig()


@pytest.mark.parametrize(("data", "message"), [
    ({"inputs": [{"camera_id": "a", "path": "x"}], "modules": {"detectr": {"model": "m"}}},
     r"modules has unknown keys \['detectr'\] \(did you mean detector\?\)"),
    ({"inputs": [{"camera_id": "a", "path": "x"}], "modules": {"detector": {"model": "m"}}, "assocation": {}},
     r"unknown sections \['assocation'\] \(did you mean association\?\)"),
    ({"inputs": [{"camera_id": "a", "path": "x"}], "modules": {"detector": {"model": "m", "conf_treshold": 0.3}}},
     r"modules.detector has unknown keys \['conf_treshold'\] \(did you mean conf_threshold\?\)"),
    ({"inputs": [{"camera_id": "a", "path": "x"}], "modules": {"detector": {"model": "m"}, "reid": {"model": "r", "evry_n_frames": 3}}},
     r"modules.reid has unknown keys \['evry_n_frames'\] \(did you mean every_n_frames\?\)"),
    ({"inputs": [{"camera_id": "a", "path": "x"}], "modules": {"detector": {"model": "m"}},
      "association": {"floor": {"gate_sigm": 3, "turn_tim_s": 4}}},
     r"unknown keys \['gate_sigm', 'turn_tim_s'\] \(did you mean gate_sigm -> gate_sigma, turn_tim_s -> turn_time_s\?\)"),
])
def test_a_misspelt_key_is_named_with_the_closest_valid_one(data, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(data, tmp_path)
