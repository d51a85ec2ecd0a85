"""mmkd_ccd.tools.pool: progress lines (the worker pool itself runs in
test_study.py's end-to-end study)."""
from mmkd_ccd.tools.pool import Progress, format_duration


def test_format_duration():
    assert format_duration(0) == '0:00'
    assert format_duration(59.6) == '1:00'
    assert format_duration(3725) == '1:02:05'


def test_progress_eta_counts_only_trained_runs():
    now = [0.0]
    progress = Progress(10, reused=2, clock=lambda: now[0])
    now[0] = 30.0
    # 1 run trained in 30 s, 7 left: 210 s.
    assert progress.advance('KD | 5% | seed 0: 91.00') == (
        '[ 3/10] KD | 5% | seed 0: 91.00 | elapsed 0:30, ETA 3:30')
    now[0] = 90.0
    assert progress.advance('b').endswith('elapsed 1:30, ETA 4:30')  # 45 x 6
    progress.reuse()  # a run whose teacher was reused, found finished
    now[0] = 100.0
    # 3 trained in 100 s, 4 left: 133 s.
    assert progress.advance('c') == '[ 6/10] c | elapsed 1:40, ETA 2:13'
    assert (progress.done, progress.reused, progress.trained) == (6, 3, 3)
    assert Progress(1).advance('x').startswith(
        '[1/1] x | elapsed 0:00, ETA 0:00')
