from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
version = next(line.split('"')[1] for line in (here / "handjoints_trt/__init__.py").read_text().splitlines()
               if line.startswith("__version__"))

TRAIN = ["torch>=2.1", "onnx>=1.15", "onnxsim>=0.4", "onnxscript>=0.1", "tqdm", "matplotlib"]
setup(
    name="handjoints_trt",
    version=version,
    description="Two-stage hand-joint detection (SSHFR + MSFF cascade) on TensorRT, ONNX Runtime and PyTorch",
    long_description=(here / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.8",
    packages=find_packages(include=["handjoints_trt", "handjoints_trt.*"]),
    package_data={"handjoints_trt": ["weights/*.onnx", "weights/*.md", "weights/*.json"]},
    include_package_data=True,
    install_requires=["numpy>=1.21", "opencv-python-headless>=4.5", "onnxruntime>=1.15"],
    extras_require={
        "train": TRAIN,
        "trt": ["tensorrt>=8.5", "pycuda", "onnx>=1.15"],
        "dev": TRAIN + ["pytest>=7", "pytest-timeout"],
    },
    entry_points={"console_scripts": ["handjoints=handjoints_trt.cli:main"]},
    license="Apache-2.0",
)
