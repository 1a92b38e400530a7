#!/bin/sh
# Regenerate the build system: configure, Makefile.in and build-aux/.
set -e
cd "$(dirname "$0")"
mkdir -p build-aux
autoreconf --install --force
