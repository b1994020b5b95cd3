"""The GPU harness (``python gpu/run.py``) and the CUDA kernels' test and benchmark cases (``gpu.cases``)."""
