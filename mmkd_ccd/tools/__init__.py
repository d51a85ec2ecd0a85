"""What the scripts under ``tools/`` share, so that no tool imports another:

- :mod:`.config_switches`: one-argument changes to a training config that
  keep it consistent (schedule length, few-shot training set, seed);
- :mod:`.tables`: the one markdown-table writer;
- :mod:`.sweep`: sweep files, the runs they list, reusing finished runs;
- :mod:`.pool`: training runs in a small pool of worker processes, each
  run's output in its own log file;
- :mod:`.study`: a grid of methods x settings x seeds, its statistics and
  plot;
- :mod:`.paired_inspection`: a config's training images as view pairs
  (``tools/visualize_jda.py``, ``tools/analyze_ccd.py``).

The command-line arguments and checks of ``tools/train.py`` and
``tools/test.py`` are in :mod:`mmkd_ccd.cli`.
"""
