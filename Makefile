# kafkadojo: `make demo` and `make test` work on a fresh clone with nothing else to do.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test soak bench bench-grading mutants clean help sandbox

help:
	@echo "make demo   set up .venv, release the course, autograde the sample submissions"
	@echo "make test   set up .venv and run every test"
	@echo "make soak   longer fault-schedule soaks (SOAK_SCHEDULES=5000 by default)"
	@echo "make bench  throughput benchmark against mockafka-py"
	@echo "make bench-grading  kafkadojo grade vs nbgrader autograde, 50 learners (LEARNERS=50)"
	@echo "make mutants  mutation testing of the hidden properties (MUTANTS=40 per exercise, JOBS=1)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools 2>&1 | grep -v "is ignored" || true
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/pip install --quiet -e '.[test,bench,course]' 2>&1 | grep -v "is ignored" || true
	$(BIN)/python -c "import kafkadojo.reference, hypothesis, kafka, pytest, xdist, nbgrader, nbclient, jupytext, scramp, fsrs, platformdirs, lz4.frame, zstandard, snappy, crc32c, kio, aiokafka, confluent_kafka"
	touch $(STAMP)

# Learner code is graded under bubblewrap (Debian's package); as root with apt, install it.
sandbox:
	@command -v bwrap >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing bubblewrap (the sandbox for learner code)"; \
	    apt-get update -qq >/dev/null && apt-get install -y -qq bubblewrap >/dev/null; \
	  else \
	    echo "kafkadojo: bubblewrap (bwrap) is missing; install it (e.g. apt-get install bubblewrap)."; \
	    echo "Without it, grading is a self-check only and the sandbox tests fail."; \
	  fi; }

demo: $(STAMP) sandbox
	$(BIN)/kafkadojo demo --engine
	$(BIN)/kafkadojo demo

# Test files run in parallel, one process per core (each file whole: its fixtures build a
# course or a class once); TEST_JOBS=0 runs them in one process, one after another.
TEST_JOBS ?= auto
test: $(STAMP) sandbox
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadfile

soak: $(STAMP)
	KAFKADOJO_SOAK=1 $(BIN)/python -m pytest tests/test_stateful.py
	$(BIN)/python -m pytest -m soak tests/test_fault_schedules.py --soak

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_engine.py

LEARNERS ?= 50
bench-grading: $(STAMP) sandbox
	$(BIN)/python benchmarks/bench_grading.py --learners $(LEARNERS)

# Mutants of the engine's solutions, each graded by the real grader: which ones survive?
MUTANTS ?= 40
JOBS ?= 1
mutants: $(STAMP) sandbox
	$(BIN)/python benchmarks/mutants.py --max $(MUTANTS) --jobs $(JOBS)

clean:
	rm -rf $(VENV) build *.egg-info
