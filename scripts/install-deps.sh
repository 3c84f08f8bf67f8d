#!/usr/bin/env bash
# Installs the Debian packages sockspec needs, and only those that are missing.
# As root it runs apt-get itself; otherwise it prints the exact command and fails,
# so nothing half-builds on a machine that lacks a dependency.
set -euo pipefail

# python3 writes the man page and bash completion from --help at build time.
build_pkgs=(g++ make cmake ninja-build pkg-config python3
            libboost-program-options-dev libboost-dev zlib1g-dev nlohmann-json3-dev libre2-dev
            libgtest-dev libgmock-dev libbenchmark-dev prometheus-cpp-dev libcivetweb-dev
            libssl-dev)
# What the tests drive: the CLI tests, the JSON Schema check, and the third-party servers
# the suites are proven against (inetd in a network namespace: iproute2; tcpserver from
# ucspi-tcp; systemd-socket-activate from systemd), and Chromium to
# load the HTML reports in a real browser.
# Also the package checks (dpkg-dev for the .deb's dependencies, lintian, man-db to render
# the man page), the JUnit consumers (python3-junitparser; npm installs a JavaScript one into
# the test's own folder), the CI recipes (python3-yaml reads them from docs/ci.md), and
# bash-completion, which the installed completion plugs into. Slurm and munge for the
# sharded-run test on a single-node cluster the test starts itself (deploy/slurm/). clang and
# its runtime (libFuzzer) build the fuzz targets that `make test` runs briefly, and the planted-bug
# server `fuzz_end_to_end` builds with sockspec's coverage runtime (trace-pc-guard).
# The real servers the protocol suites (scenarios/protocols/) and the DNS load profile are proven
# against, each started by the test itself in its default configuration on a loopback port
# (never as a service). Prometheus and its Pushgateway read `load --metrics` and `--push` in the
# observe tests, each started by the test on a loopback port. dnsmasq-base is the dnsmasq binary without the `dnsmasq` package's
# system service (which would answer on port 53 of the machine).
package_pkgs=(dpkg-dev lintian man-db)
test_pkgs=(python3 python3-jsonschema iproute2 socat ncat openbsd-inetd ucspi-tcp systemd chromium
           "${package_pkgs[@]}" python3-junitparser python3-yaml npm bash-completion
           slurm-wlm munge clang libclang-rt-14-dev
           redis-server memcached dnsmasq-base tftpd-hpa mosquitto nginx
           prometheus prometheus-pushgateway stunnel4)
# What `make bench` compares against: sockperf (client and server), and wrk as an HTTP client of
# nginx (scripts/bench-http.sh).
bench_pkgs=(sockperf nginx wrk liburing-dev)

case "${1:-build}" in
  build) wanted=("${build_pkgs[@]}") ;;
  test)  wanted=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  bench) wanted=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
  package) wanted=("${build_pkgs[@]}" "${package_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|bench|package]" >&2; exit 2 ;;
esac

missing=()
for p in "${wanted[@]}"; do
  # npm may come with another nodejs build (NodeSource's provides it): the command is enough.
  if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "sockspec: missing Debian packages: ${missing[*]}" >&2
  echo "install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "sockspec: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Package scripts must not start services (inetd, redis, memcached, dnsmasq, tftpd-hpa,
# mosquitto, nginx, prometheus) on the build machine: the
# tests start their own instances on addresses they choose.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created_policy=1
fi
trap '[ $created_policy -eq 1 ] && rm -f "$policy"' EXIT
# Another install may hold the dpkg lock (a parallel build, unattended upgrades): wait for it
# rather than fail.
apt_opts=(-o DPkg::Lock::Timeout=600)
apt-get "${apt_opts[@]}" update -q
apt-get "${apt_opts[@]}" install -y -q --no-install-recommends "${missing[@]}"
