# Analysis (b), step 2: distil WRN-16-2 with CCD+JDA from the teacher that
# was itself trained with JDA views (wrn-40-2_1xb128-jda_cifar100.py;
# run it first with its default work dir).
_base_ = './ccd_logits_wrn-40-2_wrn-16-2_1xb128_cifar100.py'
model = dict(teacher_ckpt=_base_.teacher_checkpoints['wrn-40-2-jda_cifar100'])
