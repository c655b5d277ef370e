"""MOTChallenge files: clear errors for bad files, every frame yielded, results round-trip."""

import io

import numpy as np
import pytest

from mctrt.errors import DataError
from mctrt.io.mot import MOT_FORMAT, csv_text, iter_detection_frames, read_mot, result_rows, write_mot


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(DataError, match=f"detection file {tmp_path / 'nope.txt'} does not exist"):
        read_mot(tmp_path / "nope.txt", what="detection file")


def test_a_folder_is_not_a_file(tmp_path):
    with pytest.raises(DataError, match=f"results file {tmp_path} is not a file"):
        read_mot(tmp_path, what="results file")


def test_too_few_columns_name_the_file_and_the_columns_needed(tmp_path):
    path = tmp_path / "det.txt"
    path.write_text("1,-1,1,1,5,5\n")
    with pytest.raises(DataError, match=f"{path} has 6 columns; it needs at least 7: frame,id,left,top,width,height,score"):
        read_mot(path, min_columns=7)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,2,3\n", "has 3 columns; it needs at least 6"),
        ("1,-1,a,b,c,d\n", "is not a MOTChallenge CSV file"),
        ("0,-1,1,1,5,5,0.9\n", "line 1: frame must be >= 1"),
        ("1,-1,1,1,5,5,0.9\n2,-1,1,1,-5,5,0.9\n", "line 2: .*width, height >= 0"),
    ],
)
def test_malformed_file_is_rejected_with_the_reason(tmp_path, text, message):
    path = tmp_path / "det.txt"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_mot(path)


def test_empty_file_has_no_rows(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("")
    assert read_mot(path).shape == (0, 10)


def test_every_frame_is_yielded_even_without_detections():
    rows = np.array([[3, -1, 10, 20, 5, 8, 0.9], [1, -1, 0, 0, 2, 2, 0.5], [3, -1, 1, 1, 1, 1, 0.7]])
    frames = list(iter_detection_frames(rows, num_frames=4))
    assert [f for f, _, _ in frames] == [1, 2, 3, 4]
    assert [len(x) for _, x, _ in frames] == [1, 0, 2, 0]
    _, xyxy, scores = frames[2]
    assert xyxy.dtype == np.float32 and scores.dtype == np.float32
    np.testing.assert_array_equal(xyxy[0], [10, 20, 15, 28])  # tlwh -> xyxy


def test_results_round_trip_through_a_file(tmp_path):
    rows = result_rows(7, np.array([1, 2]), np.array([[1.5, 2.5, 11.5, 22.5], [0, 0, 4, 4]]), np.array([0.9, 0.5]))
    write_mot(tmp_path / "out" / "cam.txt", rows)
    back = read_mot(tmp_path / "out" / "cam.txt")
    np.testing.assert_allclose(back, [[7, 1, 1.5, 2.5, 10, 20, 0.9, -1, -1, -1], [7, 2, 0, 0, 4, 4, 0.5, -1, -1, -1]])


def test_result_rows_are_written_as_numpy_savetxt_writes_them():
    """csv_text (the results files' writer) gives np.savetxt's text, to the byte, rounding and signs included."""
    rows = np.random.default_rng(3).normal(scale=500.0, size=(200, 10))
    rows[:3] = [[1, 2, 0.005, -0.005, 1e6, 0.125, 0.99995, -1, -1, -1], [0] * 10, [-7.5] * 10]
    expected = io.StringIO()
    np.savetxt(expected, rows, delimiter=",", fmt=MOT_FORMAT)
    assert csv_text(rows, MOT_FORMAT) == expected.getvalue()
    assert csv_text(np.empty((0, 10)), MOT_FORMAT) == ""
