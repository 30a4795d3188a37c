# shellcheck shell=sh
# Makes the worktree $2 of the branch $3 from the bare clone $1, unless the volume already
# holds one (a recreated container). New branches start from $4. Worktrees are locked so
# that `git worktree prune` (or `git gc`) run in one container never removes another
# container's worktree, which it cannot see.
set -eu
repo=$1 worktree=$2 branch=$3 base=$4
if [ -e "$worktree/.git" ]; then exit 0; fi
if git -C "$repo" rev-parse --verify --quiet --end-of-options "refs/heads/$branch" >/dev/null; then
    git -C "$repo" worktree add --quiet --lock --reason craftastic -- "$worktree" "$branch"
else
    git -C "$repo" worktree add --quiet --lock --reason craftastic -b "$branch" -- "$worktree" "$base"
fi
