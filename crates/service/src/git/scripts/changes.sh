# shellcheck shell=bash
# The files that differ from the last commit, untracked ones included.
git status --porcelain=v2 -z --untracked-files=normal
