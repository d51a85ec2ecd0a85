"""Test loop that reports the student and, on request, the teacher."""
from __future__ import annotations

from typing import Dict, Sequence

import torch
from mmengine.model import is_model_wrapper
from mmengine.runner import TestLoop, autocast

from mmkd_ccd.registry import LOOPS


@LOOPS.register_module()
class DistillTestLoop(TestLoop):
    """mmengine's ``TestLoop`` for a distillation algorithm.

    Evaluates the student (the algorithm's own ``predict``) exactly as
    ``TestLoop`` does and, with ``evaluate_teacher=True``, the teacher on the
    same data, reporting its metrics with a ``teacher.`` prefix in the same
    metrics dict (so hooks and loggers see both). The teacher uses the
    algorithm's data preprocessor, so a teacher built without one is
    normalised like the student. MMRazor's ``SingleTeacherDistillValLoop``
    does the same for validation.

    Args:
        runner, dataloader, evaluator, fp16: as for ``TestLoop``.
        evaluate_teacher (bool): Also evaluate ``model.teacher``.
            Defaults to True.
    """

    def __init__(self, runner, dataloader, evaluator, fp16: bool = False,
                 evaluate_teacher: bool = True) -> None:
        super().__init__(runner, dataloader, evaluator, fp16)
        self.evaluate_teacher = evaluate_teacher
        if evaluate_teacher:
            self.evaluator = _StudentThenTeacher(self, self.evaluator)

    @torch.no_grad()
    def run_teacher_iter(self, data_batch: Sequence[dict]) -> None:
        """Predict one batch with the teacher and feed the evaluator."""
        algorithm = self.runner.model
        if is_model_wrapper(algorithm):
            algorithm = algorithm.module
        if not hasattr(algorithm, 'teacher'):
            raise AttributeError(
                'DistillTestLoop(evaluate_teacher=True) needs a distillation '
                f'model with a teacher; {type(algorithm).__name__} has none. '
                'Set evaluate_teacher=False or use a distill config.')
        with autocast(enabled=self.fp16):
            data = algorithm.data_preprocessor(data_batch, False)
            outputs = algorithm.teacher(**data, mode='predict')
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)


class _StudentThenTeacher:
    """The evaluator ``TestLoop.run`` sees when the teacher is evaluated too.

    Everything is the loop's own evaluator's, except that ``evaluate``,
    called once the student's predictions are processed, returns the
    student's metrics plus the teacher's (``teacher.`` prefix), for which it
    runs the teacher over the same dataloader first.
    """

    def __init__(self, loop: DistillTestLoop, evaluator) -> None:
        self._loop = loop
        self._evaluator = evaluator

    def __getattr__(self, name: str):
        return getattr(self._evaluator, name)

    def process(self, *args, **kwargs) -> None:
        self._evaluator.process(*args, **kwargs)

    def evaluate(self, size: int) -> Dict[str, float]:
        metrics = self._evaluator.evaluate(size)
        for data_batch in self._loop.dataloader:
            self._loop.run_teacher_iter(data_batch)
        teacher = self._evaluator.evaluate(size)
        metrics.update({f'teacher.{k}': v for k, v in teacher.items()})
        return metrics
