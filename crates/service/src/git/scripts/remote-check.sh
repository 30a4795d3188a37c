# shellcheck shell=bash
# Checks the remote $1 (and the branch $2, unless empty) of a push or fetch and prints the
# remote's URL. Exit 90: no such remote (the remotes on stderr); 91: no such branch.
remote=$1 branch=$2
if ! git remote | grep -qxF -- "$remote"; then git remote | tr '\n' ' ' >&2; exit 90; fi
if [ -n "$branch" ]; then git show-ref --verify --quiet "refs/heads/$branch" || exit 91; fi
git remote get-url --push "$remote"
