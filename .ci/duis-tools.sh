# shellcheck shell=bash
# Sourced by .ci/run: DCC's own DUIS tools for the adapter tests (docs/adapter-test.md), so that
# they run and are never skipped. Installs a Java runtime (Debian's default-jre-headless) if
# `java` is missing, and Node.js with npm if `node` is missing; installs the npm packages pinned
# in tests/dcc_adapter/package-lock.json (@smartdcc/duis-sign-wrap, which bundles DCC's signing
# tool, and @smartdcc/duis-parser) into build/duis-tools/node_modules with `npm ci`; exports
# RIG_DUIS_TOOLS (that folder) and RIG_REQUIRE_DUIS_TOOLS=1.

rig_duis_apt=()
command -v java >/dev/null 2>&1 || rig_duis_apt+=(default-jre-headless)
command -v node >/dev/null 2>&1 || rig_duis_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || rig_duis_apt+=(npm)
if [ ${#rig_duis_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${rig_duis_apt[@]}" >/dev/null
fi
RIG_DUIS_TOOLS="$PWD/build/duis-tools"
mkdir -p "$RIG_DUIS_TOOLS"
cp tests/dcc_adapter/package.json tests/dcc_adapter/package-lock.json "$RIG_DUIS_TOOLS/"
(cd "$RIG_DUIS_TOOLS" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
export RIG_DUIS_TOOLS RIG_REQUIRE_DUIS_TOOLS=1
unset rig_duis_apt
