"""Cost of a CCD+JDA training step relative to plain KD, measured in one run.

Usage:
    python benchmarks/distill_step.py [--device cpu|cuda] [--amp]
        [--batch 32] [--size 224] [--steps 10]

Builds MMRazor's SingleTeacherDistill twice with the same ResNet-34 teacher
and ResNet-18 student: plain KD on B single views (KLDivergence, T=4) and
CCD+JDA on B view pairs (2B rows, PairedDistiller + CCDLoss). Both run the
same optimizer step on random images; the script prints the time and peak
memory of each and their ratio. A paired step processes twice the rows, so
~2x is the expected cost; the number to watch is how far above 2x the
pairing bookkeeping and the CCD loss push it.
"""
from __future__ import annotations

import argparse
import time

import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import MODELS, DefaultScope
from mmpretrain.structures import DataSample

import mmkd_ccd  # noqa: F401


def classifier(depth: int) -> dict:
    return dict(
        type='mmpretrain.ImageClassifier',
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor'),
        backbone=dict(type='mmpretrain.ResNet', depth=depth),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=1000,
                  in_channels=512,
                  loss=dict(type='mmpretrain.CrossEntropyLoss')))


def algorithm(paired: bool) -> torch.nn.Module:
    fc = dict(type='ModuleOutputs', source='head.fc')
    loss = (dict(type='CCDLoss', tau=4.0) if paired else
            dict(type='KLDivergence', tau=4.0))
    cfg = dict(
        _scope_='mmrazor',
        type='SingleTeacherDistill',
        data_preprocessor=dict(
            type='PairedDataPreprocessor' if paired else
            'mmpretrain.ClsDataPreprocessor',
            mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]),
        architecture=classifier(18),
        teacher=classifier(34),
        distiller=dict(
            type='PairedDistiller' if paired else 'ConfigurableDistiller',
            student_recorders=dict(fc=fc),
            teacher_recorders=dict(fc=fc),
            distill_losses=dict(loss=loss),
            loss_forward_mappings=dict(loss=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc')))))
    with DefaultScope.overwrite_default_scope('mmrazor'):
        return MODELS.build(cfg)


def batch(paired: bool, size: int, num: int) -> dict:
    def image():
        return torch.randint(0, 256, (3, size, size), dtype=torch.uint8)

    return pseudo_collate([
        dict(inputs=[image(), image()] if paired else image(),
             data_samples=DataSample().set_gt_label(i % 1000))
        for i in range(num)
    ])


def measure(paired: bool, args) -> tuple:
    model = algorithm(paired).to(args.device)
    wrapper_type = AmpOptimWrapper if args.amp else OptimWrapper
    optim = wrapper_type(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    data = batch(paired, args.size, args.batch)
    sync = torch.cuda.synchronize if args.device == 'cuda' else (lambda: None)
    for _ in range(2):  # warm-up: allocator, cudnn autotune
        model.train_step(data, optim)
    if args.device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    sync()
    start = time.perf_counter()
    for _ in range(args.steps):
        model.train_step(data, optim)
    sync()
    seconds = (time.perf_counter() - start) / args.steps
    peak = (torch.cuda.max_memory_allocated() / 2**20
            if args.device == 'cuda' else float('nan'))
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cuda'
                        if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--amp', action='store_true')
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--steps', type=int, default=10)
    args = parser.parse_args()
    kd_time, kd_mem = measure(False, args)
    ccd_time, ccd_mem = measure(True, args)
    print(f'device={args.device} amp={args.amp} batch={args.batch} '
          f'images of {args.size}px, {args.steps} steps')
    print(f'KD      (B rows):  {kd_time * 1000:8.1f} ms/step  '
          f'peak {kd_mem:8.0f} MiB')
    print(f'CCD+JDA (2B rows): {ccd_time * 1000:8.1f} ms/step  '
          f'peak {ccd_mem:8.0f} MiB')
    print(f'ratio CCD+JDA / KD: time {ccd_time / kd_time:.2f}x'
          + ('' if args.device != 'cuda' else
             f', memory {ccd_mem / kd_mem:.2f}x'))


if __name__ == '__main__':
    main()
