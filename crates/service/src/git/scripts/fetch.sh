# shellcheck shell=bash
# Fetches the remote $1, forgetting the branches it no longer has.
exec git fetch --quiet --prune "$1"
