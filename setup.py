"""mmkd-ccd: JDA + CCD knowledge distillation for MMRazor (OpenMMLab plugin).

Dependencies are read from requirements/: runtime.txt (install_requires) and
one file per extra (det, demo; tests = det + demo + tests.txt).
"""
from typing import List

from setuptools import find_packages, setup


def read_version() -> str:
    namespace: dict = {}
    with open('mmkd_ccd/version.py', encoding='utf-8') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def read_requirements(name: str) -> List[str]:
    """The requirement lines of ``requirements/<name>.txt``, comments and
    blank lines dropped."""
    with open(f'requirements/{name}.txt', encoding='utf-8') as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line]


det, demo = read_requirements('det'), read_requirements('demo')
tests = list(dict.fromkeys(det + demo + read_requirements('tests')))

setup(
    name='mmkd_ccd',
    version=read_version(),
    description='Joint Data Augmentation and Cosine Confidence Distillation '
    '(ACCV 2022) for MMRazor, mmpretrain and mmdet',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmkd_ccd', 'mmkd_ccd.*']),
    python_requires='>=3.9',
    install_requires=read_requirements('runtime'),
    extras_require={'det': det, 'demo': demo,
                    'tests': tests},
    license='Apache-2.0',
    zip_safe=False,
)
