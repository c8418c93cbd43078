# rgbd_seg_ros: every target creates or reuses the virtual environment in .venv first.
# When a ROS 2 install is sourced ($ROS_DISTRO set) the venv sees its site-packages and uses the
# system rclpy; otherwise the ROS 2 Kilted wheels from PyPI are installed into it.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
STAMP := $(VENV)/.installed
ROOT := $(CURDIR)

# Never talk to a model hub; DDS over shared memory only, on a private domain.
export HF_HUB_OFFLINE := 1
export PYTHONPATH := $(ROOT)$(if $(PYTHONPATH),:$(PYTHONPATH),)
export FASTDDS_DEFAULT_PROFILES_FILE ?= $(ROOT)/config/fastdds/local_shm.xml
export RMW_IMPLEMENTATION ?= rmw_fastrtps_cpp
export ROS_AUTOMATIC_DISCOVERY_RANGE ?= LOCALHOST
export ROS_DOMAIN_ID ?= $(shell echo $$(( 100 + $$$$ % 100 )))

.PHONY: venv test test-all lint demo hha-demo gallery bench clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-ros.txt
	@if [ ! -x $(PY) ]; then \
	  if [ -n "$$ROS_DISTRO" ]; then $(PYTHON) -m venv --system-site-packages $(VENV); \
	  else $(PYTHON) -m venv $(VENV); fi; fi
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	@if [ -z "$$ROS_DISTRO" ]; then $(PY) -m pip install -q -r requirements-ros.txt; \
	  else echo "ROS 2 $$ROS_DISTRO is sourced: using its rclpy"; fi
	touch $(STAMP)

lint: venv
	$(PY) -m ruff check .

test: venv
	$(PY) -m ruff check .
	$(PY) -m pytest -q

test-all: venv
	$(PY) -m pytest -q -m "not cuda"

demo: venv
	$(PY) -m tools.demo --out out/demo

hha-demo: venv
	$(PY) -m tools.hha_demo --out out/hha_demo.png

gallery: venv
	$(PY) -m tools.gallery --out out/gallery.png

bench: venv
	$(PY) bench/hha.py
	$(PY) bench/sim.py
	$(PY) bench/models.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
