# make setup | demo | test | bench   (see README)
SHELL := /bin/bash
PY := .venv/bin/python
PIP := .venv/bin/pip
APT_PACKAGES := tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd fonts-dejavu-core chromium chromium-driver \
  $(HANDWRITING_FONTS)
# Handwriting fonts for the handwriting corpus (tools/handwriting_corpus.py; fonts-breip is
# reserved for held-out checks and deliberately not installed here).
HANDWRITING_FONTS := fonts-dkg-handwriting fonts-humor-sans fonts-comic-neue fonts-femkeklaver \
  fonts-bwht fonts-sjfonts fonts-rufscript fonts-kristi fonts-dancingscript fonts-kaushanscript \
  fonts-ecolier-court
export OMP_THREAD_LIMIT := 1

.PHONY: setup demo test bench clean system-deps

setup: .venv/.installed system-deps

# Debian packages only where missing (CI and fresh machines run as root; else use sudo).
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

.venv/.installed: requirements.txt requirements-test.txt
	test -x $(PY) || python3 -m venv .venv
	$(PIP) install -q --disable-pip-version-check -r requirements-test.txt
	touch $@

demo: setup
	$(PY) tools/demo.py

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) -m bench.run

clean:
	rm -rf .venv db.sqlite3 media demo_media .pytest_cache
