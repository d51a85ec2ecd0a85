# Analysis (b), step 2: distil WRN-16-2 with CCD+JDA from the teacher that
# was itself trained with JDA views (teacher-jda_wrn-40-2_1xb128_cifar100.py;
# run it first with its default work dir).
_base_ = './ccd_wrn-40-2_wrn-16-2_1xb128_cifar100.py'
teacher_ckpt = 'work_dirs/teacher-jda_wrn-40-2_1xb128_cifar100/epoch_240.pth'
model = dict(teacher_ckpt=teacher_ckpt)
