"""DistillTestLoop: the student's metrics as mmengine's TestLoop gives them,
plus the teacher's under a ``teacher.`` prefix, in one run."""
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmpretrain.structures import DataSample

NUM_CLASSES = 4


class Predictor(nn.Module):
    """Predicts ``(label + shift) % NUM_CLASSES`` for every sample."""

    def __init__(self, shift: int) -> None:
        super().__init__()
        self.shift = shift
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        for sample in data_samples:
            label = int(sample.gt_label) + self.shift
            sample.set_pred_label(label % NUM_CLASSES)
        return data_samples


class ToyDistillation(BaseModel):
    """Student always wrong, teacher always right."""

    def __init__(self) -> None:
        super().__init__()
        self.student = Predictor(shift=1)
        self.teacher = Predictor(shift=0)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.student(inputs, data_samples, mode)


class ToyDataset(torch.utils.data.Dataset):
    metainfo = dict(classes=[str(c) for c in range(NUM_CLASSES)])

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> dict:
        return dict(inputs=torch.zeros(3, 2, 2),
                    data_samples=DataSample().set_gt_label(
                        index % NUM_CLASSES))


def run_test(work_dir: str, evaluate_teacher: bool) -> dict:
    runner = Runner(
        model=ToyDistillation(),
        work_dir=work_dir,
        test_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=3,
            collate_fn=dict(type='pseudo_collate')),
        test_evaluator=dict(type='mmpretrain.Accuracy', topk=(1, )),
        test_cfg=dict(type='DistillTestLoop',
                      evaluate_teacher=evaluate_teacher),
        default_scope='mmpretrain')
    return runner.test()


def test_student_and_teacher_metrics(tmp_path):
    metrics = run_test(str(tmp_path), evaluate_teacher=True)
    assert metrics['accuracy/top1'] == 0.0
    assert metrics['teacher.accuracy/top1'] == 100.0


def test_teacher_evaluation_can_be_switched_off(tmp_path):
    assert run_test(str(tmp_path), evaluate_teacher=False) == {
        'accuracy/top1': 0.0
    }
