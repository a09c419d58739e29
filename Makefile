# make setup | demo | test | bench   (see README)
SHELL := /bin/bash
PY := .venv/bin/python
PIP := .venv/bin/pip
# What the product needs (make demo, the image) ...
APT_PACKAGES := tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd fonts-dejavu-core
# ... and what only the tests need: browser tests, and handwriting fonts for the handwriting
# corpus (tools/handwriting_corpus.py; fonts-breip is reserved for held-out checks and
# deliberately not installed here).
HANDWRITING_FONTS := fonts-dkg-handwriting fonts-humor-sans fonts-comic-neue fonts-femkeklaver \
  fonts-bwht fonts-sjfonts fonts-rufscript fonts-kristi fonts-dancingscript fonts-kaushanscript \
  fonts-ecolier-court
TEST_APT_PACKAGES := chromium chromium-driver $(HANDWRITING_FONTS)
export OMP_THREAD_LIMIT := 1

.PHONY: setup setup-test demo test bench clean system-deps system-deps-test

# The product: requirements.txt and Tesseract. The tests add requirements-test.txt (PyTorch,
# Selenium, moto, ...) and Chromium.
setup: .venv/.installed system-deps
setup-test: .venv/.installed-test system-deps-test

# Debian packages only where missing (CI and fresh machines run as root; else use sudo).
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

system-deps:
	$(call apt_install,$(APT_PACKAGES))

system-deps-test: system-deps
	$(call apt_install,$(TEST_APT_PACKAGES))

.venv/.installed: requirements.txt
	test -x $(PY) || python3 -m venv .venv
	$(PIP) install -q --disable-pip-version-check -r requirements.txt
	touch $@

.venv/.installed-test: .venv/.installed requirements-test.txt
	$(PIP) install -q --disable-pip-version-check -r requirements-test.txt
	touch $@

demo: setup
	$(PY) tools/demo.py

test: setup-test
	$(PY) -m pytest -q

bench: setup-test
	$(PY) -m bench.run

clean:
	rm -rf .venv db.sqlite3 media demo_media staticfiles .pytest_cache
