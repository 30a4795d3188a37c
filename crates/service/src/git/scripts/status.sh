# shellcheck shell=bash
# The status, and the distance from the branch of the same name on `origin` when the
# branch has no upstream yet (a fresh clone's branches, before their first push here).
git status --porcelain=v2 --branch -z --untracked-files=all || exit
if ! git rev-parse --verify --quiet '@{upstream}' >/dev/null 2>&1; then
    b=$(git symbolic-ref --quiet --short HEAD) || exit 0
    git rev-parse --verify --quiet "refs/remotes/origin/$b" >/dev/null || exit 0
    printf '# craftastic.base origin/%s %s\0' "$b" \
        "$(git rev-list --left-right --count "HEAD...refs/remotes/origin/$b" | tr '\t' ' ')"
fi
exit 0
