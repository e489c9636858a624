# Sourced by .ci/run: a lab of labgrid bench hosts on this machine for tests/lab (docs/lab.md).
# labgrid comes with the [dev] extra; ser2net (the exporter's RFC 2217 server) from Debian.
# Starts a labgrid-coordinator and two bench hosts (`rig lab serve`: an emulated bench behind a
# labgrid-exporter each, places rig_ci_1 and rig_ci_2 tagged pool=rig_ci), exports what the
# tests read, and stops them all when the script exits.
if ! command -v ser2net >/dev/null 2>&1 && [ ! -x /usr/sbin/ser2net ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends ser2net >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e '.[dev]'
RIG_LAB_DIR="$PWD/build/ci-lab"
.venv/bin/python -m rig.lab.local stop "$RIG_LAB_DIR" 2>/dev/null || true
rm -rf "$RIG_LAB_DIR"
lab_stop() { .venv/bin/python -m rig.lab.local stop "$RIG_LAB_DIR" || true; }
# Run after whatever EXIT trap is already set (another part of .ci/run may have one).
_lab_previous_trap=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
trap "lab_stop${_lab_previous_trap:+; $_lab_previous_trap}" EXIT
_lab_env=$(.venv/bin/python -m rig.lab.local start "$RIG_LAB_DIR")
eval "$_lab_env"
# tests/lab fail, rather than skip, if the lab is missing.
export RIG_REQUIRE_LAB=1
echo "lab: coordinator $RIG_LAB_COORDINATOR, bench hosts in $RIG_LAB_DIR"
