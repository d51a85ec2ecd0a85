"""Run a study: a grid of methods x settings x seeds on one dataset, then
tables of mean +- std over the seeds and of paired differences between
methods (95% t intervals), and a plot.

Usage:
    python tools/study.py STUDY_FILE [--work-dir DIR] [--workers N]
        [--cpu-threads N] [--out TABLE.md] [--dry-run]

    python tools/study.py configs/ccd/studies/digits.py

The runs train in ``--workers`` processes (default: one per usable core,
one torch thread each), each run in-process through the same code as
``tools/train.py`` (:mod:`mmkd_ccd.cli`); a run's output goes to its own
log file, the terminal gets one progress line per run (done/total, elapsed,
ETA) and the tables. Written to WORK_DIR (default
``work_dirs/studies/<study file name>``): ``results.md`` (the tables),
``results.json`` (every run), ``plot.png`` (the metric against the
settings, one line per method, error bars one std). A finished run is not
trained again: run the same command to resume a stopped study. The study
file format: :mod:`mmkd_ccd.tools.study`; an example:
``configs/ccd/studies/digits.py``.
"""
import sys
import warnings

# mmengine 0.10.7 imports pkg_resources, which setuptools deprecates with a
# UserWarning on import; harmless, and kept off the terminal here (the
# worker processes run this file first too). Other warnings go to the
# runs' logs.
warnings.filterwarnings('ignore', 'pkg_resources is deprecated', UserWarning)

from mmkd_ccd.tools.study import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
