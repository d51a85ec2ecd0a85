"""Test loop that reports the student and, on request, the teacher."""
from __future__ import annotations

from typing import Dict, Sequence

import torch
from mmengine.model import is_model_wrapper
from mmengine.registry import LOOPS
from mmengine.runner import TestLoop, autocast


@LOOPS.register_module()
class DistillTestLoop(TestLoop):
    """mmengine's ``TestLoop`` for a distillation algorithm.

    Evaluates the student (the algorithm's own ``predict``) and, with
    ``evaluate_teacher=True``, the teacher on the same data, reporting its
    metrics with a ``teacher.`` prefix. Both use the algorithm's data
    preprocessor, so a teacher built without one is normalised like the
    student. MMRazor's ``SingleTeacherDistillValLoop`` does the same for
    validation.

    Args:
        runner, dataloader, evaluator, fp16: as for ``TestLoop``.
        evaluate_teacher (bool): Also evaluate ``model.teacher``.
            Defaults to True.
    """

    def __init__(self, runner, dataloader, evaluator, fp16: bool = False,
                 evaluate_teacher: bool = True) -> None:
        super().__init__(runner, dataloader, evaluator, fp16)
        self.evaluate_teacher = evaluate_teacher

    def run(self) -> Dict[str, float]:
        self.runner.call_hook('before_test')
        self.runner.call_hook('before_test_epoch')
        self.runner.model.eval()
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        if self.evaluate_teacher:
            for idx, data_batch in enumerate(self.dataloader):
                self.run_teacher_iter(data_batch)
            teacher_metrics = self.evaluator.evaluate(
                len(self.dataloader.dataset))
            metrics.update(
                {f'teacher.{k}': v
                 for k, v in teacher_metrics.items()})
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        self.runner.call_hook('after_test')
        return metrics

    @torch.no_grad()
    def run_teacher_iter(self, data_batch: Sequence[dict]) -> None:
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
