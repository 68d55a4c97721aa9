# Training environment (torch + ultralytics) kept apart from the edge/hub runtime venv.
# Included from the main Makefile. torch never enters .venv; only `mingchu-model train|export` need this.
#   make train-env     create/update .venv-train (idempotent; re-runs only when pyproject.toml changes)
#   make train-smoke   1-epoch train → ONNX export → load with the edge YoloDetector (slow, marker `train`)
TRAIN_VENV  ?= .venv-train
TRAIN_PY    := $(TRAIN_VENV)/bin/python
TRAIN_STAMP := $(TRAIN_VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: train-env train-smoke

$(TRAIN_STAMP): pyproject.toml
	@test -x $(TRAIN_PY) || python3 -m venv $(TRAIN_VENV)
	$(TRAIN_PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(TRAIN_PY) -m pip install -q -e '.[train]'
	@rm -f $(TRAIN_VENV)/.installed-* && touch $@

train-env: $(TRAIN_STAMP)

train-smoke: train-env
	.venv/bin/python -m pytest -q -p no:cacheprovider -m "train" tests/modelkit/test_train_smoke.py
