#!/usr/bin/env bash
# Installs what the build and the tests need, if missing: the C libraries' -dev packages,
# DCMTK (the reference DICOM peer), curl (the HTTP peer), zip, pydicom / pynetdicom / numpy / Pillow (the
# Python peers; Pillow's libjpeg-turbo and GIF reader check our JPEG and GIF codecs) and schemathesis
# (the OpenAPI contract tester).
# Fails loudly when something cannot be installed: a missing peer must fail the tests, not skip them.
set -euo pipefail

need_apt=()
for pkg in libssl-dev libsqlite3-dev zlib1g-dev pkg-config dcmtk openssl curl zip; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
[ -x /usr/bin/time ] || need_apt+=(time)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "install-test-peers: apt-get install ${need_apt[*]}" >&2
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

need_pip=()
python3 -c "import pydicom" 2>/dev/null || need_pip+=("pydicom>=3.0")
python3 -c "import pynetdicom" 2>/dev/null || need_pip+=("pynetdicom>=2.1")
python3 -c "import numpy" 2>/dev/null || need_pip+=("numpy")
python3 -c "import PIL" 2>/dev/null || need_pip+=("pillow")
python3 -c "import schemathesis" 2>/dev/null || need_pip+=("schemathesis>=4.0,<5")
if [ ${#need_pip[@]} -gt 0 ]; then
    echo "install-test-peers: pip install ${need_pip[*]}" >&2
    python3 -m pip install -q "${need_pip[@]}"
fi

# Verify, so a half-installed peer is reported here and not as a confusing test failure.
missing=()
for bin in /usr/bin/openssl /usr/bin/curl /usr/bin/dcmdump /usr/bin/dcmdjpeg /usr/bin/storescu /usr/bin/storescp /usr/bin/echoscu /usr/bin/findscu /usr/bin/movescu /usr/bin/getscu /usr/bin/zip; do
    [ -x "$bin" ] || missing+=("$bin")
done
python3 -c "import pydicom, pynetdicom, numpy, PIL" 2>/dev/null || missing+=("python: pydicom/pynetdicom/numpy/pillow")
python3 -c "import schemathesis" 2>/dev/null || missing+=("python: schemathesis")
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-test-peers: FAILED, still missing: ${missing[*]}" >&2
    exit 1
fi
echo "install-test-peers: dcmtk $(/usr/bin/dcmdump --version 2>/dev/null | head -1 | awk '{print $3}'), pydicom $(python3 -c 'import pydicom; print(pydicom.__version__)'), pynetdicom $(python3 -c 'import pynetdicom; print(pynetdicom.__version__)')" >&2
