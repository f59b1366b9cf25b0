# Two commands for a fresh machine:  `make lab` (learn)  and  `make test` (check everything).
# Both create .venv with Python 3.11, install the course into it, and find or fetch MNIST.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: lab formgrader hub test test-fast data lessons clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Where torch and torchvision come from. Empty (the default): PyPI, whose Linux build brings
# PyTorch's CUDA libraries (.venv about 6 GB). Without an NVIDIA GPU, PyTorch's CPU-only index,
# where it is reachable, makes .venv about 1.5 GB:
#   TORCH_INDEX=https://download.pytorch.org/whl/cpu make lab
TORCH_INDEX ?=
CPU_INDEX   := https://download.pytorch.org/whl/cpu
TORCH_SIZE   = $(if $(TORCH_INDEX),about 1.5 GB with PyTorch from $(TORCH_INDEX),$\
	about 6 GB on Linux with PyTorch's CUDA libraries)

# Reinstall only when the dependency list changes. pip shows what it fetches, with progress bars.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "Installing the course into $(VENV): PyTorch and JupyterLab, $(TORCH_SIZE); a few minutes..."
	@[ -n "$(TORCH_INDEX)" ] || [ "$$(uname -s)" != Linux ] || command -v nvidia-smi >/dev/null || \
		echo "(No NVIDIA GPU found: TORCH_INDEX=$(CPU_INDEX) make lab would install the smaller CPU-only PyTorch.)"
	$(if $(TORCH_INDEX),$(BIN)/python -m pip install --index-url $(TORCH_INDEX) torch torchvision)
	$(BIN)/python -m pip install -e '.[dev]'
	touch $@

data: $(VENV)/.installed
	$(BIN)/python -m mnist_ref data

# The learner's own copy of START-HERE.md and lessons/ (git-ignored), where JupyterLab opens: made on
# the first start, never overwritten; a lesson the course changed since arrives beside the learner's
# copy, dated (mnist_ref/workspace.py).
WORKSPACE ?= my-work

# MNIST first where it can be had; without it JupyterLab starts all the same (the lessons that need
# it say how to get it). jupyter-config/ (landing page, no news prompt, the course's kernel, root
# allowed in containers) is read before ~/.jupyter, and jupyter-config/learner/ (no instructor
# panels or menus) before it. JupyterLab runs from here, where Validate reads nbgrader_config.py.
LAB_CONFIG := $(CURDIR)/jupyter-config/learner:$(CURDIR)/jupyter-config
NO_MNIST_FOR_LAB := MNIST is not available yet: JupyterLab starts anyway, and the lessons that need it \
	say so. How to get it: 'If something does not work' in START-HERE.md.
lab: $(VENV)/.installed
	@$(BIN)/python -m mnist_ref data || echo "$(NO_MNIST_FOR_LAB)"
	$(BIN)/python -m mnist_ref.workspace --course "$(CURDIR)" "$(abspath $(WORKSPACE))"
	JUPYTER_CONFIG_PATH="$(LAB_CONFIG)$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
		$(BIN)/jupyter lab --ServerApp.root_dir="$(abspath $(WORKSPACE))"

# The instructor's JupyterLab: the whole course with all of nbgrader, opened on the formgrader.
formgrader: $(VENV)/.installed
	$(BIN)/mnist-course --course "$(CURDIR)" formgrader

# A class on JupyterHub (as root; docs/HUB.md): http://127.0.0.1:8000, learners from `mnist-course roster`.
# INSTRUCTOR=name: the account with the formgrader (default: the owner of this folder); HUB_ARGS: more options.
hub: $(VENV)/.installed
	$(BIN)/mnist-course --course "$(CURDIR)" hub $(if $(INSTRUCTOR),--instructor $(INSTRUCTOR)) $(HUB_ARGS)

# Everything, the slow real-data tests included, as CI runs it. Without MNIST (no network,
# no MNIST_DATA) the real-data tests skip, unless MNIST_REQUIRE_REAL=1 makes them fail.
test: $(VENV)/.installed
	$(BIN)/python -m mnist_ref data || echo "MNIST is not available: the real-data tests will be skipped."
	$(BIN)/python -m pytest -m ''

# Unit tests only (seconds): what `pytest` does by default.
test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest

# lessons/ from solutions/ after editing a lesson (no gradebook); the other instructor steps: mnist-course --help
lessons: $(VENV)/.installed
	$(BIN)/mnist-course lessons

clean-venv:
	rm -rf $(VENV)
