# Sourced by bin/dev and bin/test: sets PY to a Python >= 3.11 (python3.11, python3, or $PYTHON).
PY=""
for candidate in "${PYTHON:-}" python3.11 python3; do
  [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 || continue
  if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    PY="$candidate"
    break
  fi
done
if [ -z "$PY" ]; then
  echo "!!! need Python >= 3.11 on PATH as python3.11 or python3 (or set PYTHON=/path/to/python)" >&2
  exit 1
fi
