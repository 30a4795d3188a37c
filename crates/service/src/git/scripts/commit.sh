# shellcheck shell=bash
# Stages the given pathspecs (every change when none) and commits them with the message
# on stdin; prints the new commit. Pathspecs after `--renamed--` (the old names of renamed
# files, gone from the worktree) are committed without staging. Exit 3: a pathspec
# matched nothing.
add=() old=() after=
for a in "$@"; do
    if [ "$a" = --renamed-- ]; then after=1; elif [ -n "$after" ]; then old+=("$a"); else add+=("$a"); fi
done
if [ ${#add[@]} -gt 0 ]; then
    git add -A -- "${add[@]}" || exit 3
    git commit --quiet -F - --only -- "${add[@]}" "${old[@]}" || exit
else
    git add -A || exit
    git commit --quiet -F - || exit
fi
git rev-parse HEAD
