"""The demo: does JDA help knowledge distillation, and does CCD help more,
when the student has few training images?

Usage:
    python tools/demo.py [--work-dir work_dirs/demo] [--workers N]

``make demo`` runs it. It is the short version of the digits study
(``configs/ccd/studies/digits_demo.py``, a part of
``configs/ccd/studies/digits.py``): scikit-learn's bundled digits are
written as 16x16 colour images with train/val/test splits under
``data/digits``, a teacher is trained on the whole training split, then the
student alone, KD, KD+JDA and CCD+JDA on 5% of it, three seeds each. It
prints a progress line per run, the test accuracies (mean +- std over the
seeds) and their paired differences, and writes the plot to the work dir.
The options are ``tools/study.py``'s.
"""
import os.path as osp
import sys
import warnings

# See tools/study.py: a harmless upstream warning kept off the terminal.
warnings.filterwarnings('ignore', 'pkg_resources is deprecated', UserWarning)

from mmkd_ccd.tools.study import main  # noqa: E402

STUDY = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs',
                 'ccd', 'studies', 'digits_demo.py')

if __name__ == '__main__':
    sys.exit(main([STUDY, *sys.argv[1:]],
                  default_work_dir=osp.join('work_dirs', 'demo')))
