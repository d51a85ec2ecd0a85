"""mmkd-ccd: JDA + CCD knowledge distillation for MMRazor (OpenMMLab plugin)."""
from setuptools import find_packages, setup


def read_version() -> str:
    namespace: dict = {}
    with open('mmkd_ccd/version.py', encoding='utf-8') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='mmkd_ccd',
    version=read_version(),
    description='Joint Data Augmentation and Cosine Confidence Distillation '
    '(ACCV 2022) for MMRazor, mmpretrain and mmdet',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmkd_ccd', 'mmkd_ccd.*']),
    python_requires='>=3.9',
    license='Apache-2.0',
    zip_safe=False,
)
