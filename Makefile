# resnet-cli — all set-up goes through these targets (README: `make run`, `make test`).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: venv run test bench reproduce reproduce-hardt2017 reproduce-success reproduce-li2017 reproduce-li2017-training reproduce-yun2019 reproduce-liu2019-beyond reproduce-zhou2019 reproduce-du2018 reproduce-stride-landscape clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

## pip installs without compiling, then compileall compiles the whole venv on every core: the same .pyc files
## (pip compiles every module it installs) sooner (the install 53 -> 46 s on 2 cores, mean of two runs each). A
## module that does not compile (torch ships one for Python 3.12) is skipped silently, as pip skips it.
INSTALL := $(BIN)/python -m pip install --quiet --no-compile
COMPILE := $(BIN)/python -m compileall -qq -j 0 $(VENV)/lib || true

$(STAMP): pyproject.toml | $(BIN)/python
	$(INSTALL) -e '.[test,plot]'
	$(COMPILE)
	touch $(STAMP)

venv: $(STAMP)

## The main job on the bundled defaults: the success-rate headline of Liu et al. 2019.
run: $(STAMP)
	$(BIN)/resnet-cli success-rate

## The test suite (no speed asserts). Its tests run on every core (pytest-xdist), then those marked serial (a
## Ctrl-C stops within 2 s, signal windows, interrupted sweeps) one at a time, with nothing beside them. On 2 cores
## of an AMD EPYC without AVX-512 (2026-12-07): 2 min 30 s, then 46 s; `.ci/run` from a fresh clone 3 min 55 s
## to 4 min 8 s with the .venv set-up (4:29 to 4:58 before a few trials stepped in Python floats, runs stopped
## importing scipy.linalg to pin its BLAS and the resume test ran its plain run beside; 5 min 57 s before the
## bytecode caches below, small sweeps in one process, fewer duplicate test runs and the faster install).
## Python may write its bytecode caches here even where the environment says not to (PYTHONDONTWRITEBYTECODE):
## otherwise every pytest worker, spawned cell worker and `resnet-cli` subprocess of the suite compiles the
## package and rewrites the test modules afresh (collecting the suite: 10.3 s without the caches, 3.4 s with).
test: export PYTHONDONTWRITEBYTECODE =
test: $(STAMP)
	$(BIN)/python -m pytest tests -n auto -m "not serial"
	$(BIN)/python -m pytest tests -m serial

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(INSTALL) -e '.[bench]'
	$(COMPILE)
	touch $(BENCH_STAMP)

## Speed ratios against the peers, written to docs/benchmarks.md.
## One BLAS/OpenMP thread per process for every engine and peer: steadier ratios on a shared 2-core machine.
bench: $(BENCH_STAMP)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python tests/bench/run_bench.py --write docs/benchmarks.md

## Every reproduction: 567 s wall, 1,098 CPU-s on 2 cores (AMD EPYC with AVX-512, OpenBLAS's default kernels,
## 2026-12-07, a fresh clone with .venv in place; 11 min 5 s from a bare clone, .venv set-up included; 556, 600
## and 647 s there with less of that day's work; runs vary by 5-10 %; about 21 minutes on an AMD EPYC without
## AVX-512 (20 min 0 s; about 22 with sampled runs judged at their last step, by its parts), where one core is about
## half as fast;
## per reproduction and which BLAS kernels made the
## committed numbers: docs/reproductions.md, "How long"; the targets below state their own). Each target
## is `resnet-cli reproduce NAME` (docs/cli.md, "reproduce"): add --jobs N, --dask ADDRESS or --cache DIR
## through ARGS, e.g. `make reproduce-li2017 ARGS="--cache /tmp/li2017-cells"`. `reproduce` and the two li2017 targets
## install the bench extra first: with torch present, exact spectra from `eigen.MKL_FROM` parameters on take MKL's
## LAPACK (resnet_cli/eigen.py; 0.61-0.71x the fastest OpenBLAS route on an Intel Xeon), the same values to rounding.
ARGS ?=
reproduce: $(BENCH_STAMP)
	$(BIN)/resnet-cli reproduce all --docs docs $(ARGS)

## Liu et al. 2019 success rates (both presets and the gradient-flow methods) into docs/reproductions.md (40 s in
## `make reproduce`, 2026-12-07).
reproduce-success: $(STAMP)
	$(BIN)/resnet-cli reproduce liu2019-success --docs docs $(ARGS)

## Li et al. 2017, Figures 5, 9, 10 (depth-sweep presets li2017-fig5/9/10, seed 0; measured 2026-12-07 in `make
## reproduce` on 2 idle cores: Fig. 5 186 CPU-s / 94 s wall, Fig. 9 73 / 37 s, Fig. 10 141 / 71 s; Fig. 5 is
## bound by Xavier's two LDLT counts per trial at 4,800 and 6,400 parameters, ~2.8 and ~5.7 CPU-s a trial; its
## orthogonal and 1-shortcut cells are layer-Toeplitz counts, up to ~2 CPU-s a trial at depth 128): JSON results in
## docs/data/, figures in docs/figures/, the "Li et al. 2017" section of docs/reproductions.md.
reproduce-li2017: $(BENCH_STAMP)
	$(BIN)/resnet-cli reproduce li2017 --docs docs $(ARGS)

## Liu et al. 2019 beyond the population loss: finite N, SGD, online SGD, strides, input laws, method definitions
## and the teacher prior; the "beyond" section of docs/reproductions.md (96 s in `make reproduce`, 2026-12-07).
reproduce-liu2019-beyond: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(BIN)/resnet-cli reproduce liu2019-beyond --docs docs $(ARGS)

## Li et al. 2017, Figures 3, 7, 8 (`train shortcut` presets li2017-fig3/7/8 looped over depths or seeds; measured
## 2026-12-07 in `make reproduce` on 2 idle cores: Fig. 3 12 CPU-s / 6 s wall, Fig. 7 42 / 21 s, Fig. 8 75 / 38 s;
## Figs. 7 and 8 measure only the Hessian steps their levels read):
## docs/data/, docs/figures/, the "Figures 3, 7 and 8" part of docs/reproductions.md.
reproduce-li2017-training: $(BENCH_STAMP)
	OPENBLAS_NUM_THREADS=1 $(BIN)/resnet-cli reproduce li2017-training --docs docs $(ARGS)

## Hardt & Ma 2017 (`landscape linear-resnet`): data/hardt2017-*.json, figures/hardt2017.png and the
## "Hardt & Ma 2017" section of docs/reproductions.md (measured 2026-12-07 in `make reproduce` on 2 idle cores:
## 12 s wall, 21 CPU-s).
reproduce-hardt2017: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(BIN)/resnet-cli reproduce hardt2017 --docs docs $(ARGS)

## Yun et al. 2019 (`landscape deep-resnet`): regenerates docs/reproduce-yun2019.md and the exported critical
## points (parameters per block, data) in docs/data/yun2019-*.json (14 s wall, 23 CPU-s in `make
## reproduce` on 2 idle cores, 2026-12-07; Newton finder by default).
reproduce-yun2019: $(STAMP)
	$(BIN)/resnet-cli reproduce yun2019 --docs docs $(ARGS)

## Zhou et al. 2019: perturbed GD and minibatch SGD with annealed noise (success-rate *-noise methods, the noise
## level and annealing, starts at the spurious point, perturbed vs plain SGD); the "Zhou et al. 2019" section of
## docs/reproductions.md (measured 2026-12-07 in `make reproduce` on 2 idle cores of an AMD EPYC: 89 s wall,
## 175 CPU-s; 106 s, 211 CPU-s before its spurious-start cells and its noise-level runs were batched).
reproduce-zhou2019: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(BIN)/resnet-cli reproduce zhou2019 --docs docs $(ARGS)

## Du et al. 2017: the two phases of GD with weight normalization (slow, then fast) read off train two-layer traces;
## the "Du et al." section of docs/reproductions.md and docs/figures/du2018-phases.png (measured 2026-12-07 in
## `make reproduce` on 2 idle cores: 10 s wall, 19 CPU-s).
reproduce-du2018: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(BIN)/resnet-cli reproduce du2018 --docs docs $(ARGS)

## Overlapping filters (`landscape two-layer --stride 1`, 12 teachers): the "Overlapping filters" section and
## docs/figures/stride-landscape.png (measured 2026-12-07 in `make reproduce` on 2 idle cores: 22 s wall, 42 CPU-s;
## alone on an AMD EPYC without AVX-512: 65 s wall before the stride-window change, 49 s after; 2026-12-08, with
## fold detection, 60 s wall and 112 CPU-s there: teacher 0 7.9 CPU-s against 7.4 before, teacher 10 15.0 against 10.7).
reproduce-stride-landscape: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(BIN)/resnet-cli reproduce stride-landscape --docs docs $(ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
