# shellcheck shell=bash
# $1 the cap + 1, $2 1 for the index, $3/$4 the pathspec and the path of one file.
# A file that git does not track is shown as new. Exit 141 (git cut off by `head`) is fine.
set -o pipefail
cap=$1 staged=$2 spec=${3-} path=${4-}
args=(diff --no-color --no-ext-diff)
[ "$staged" = 1 ] && args+=(--cached)
noindex=0
if [ -n "$path" ] && [ "$staged" != 1 ] && [ -e "$path" ] &&
    ! git ls-files --error-unmatch -- "$spec" >/dev/null 2>&1; then
    noindex=1
    args+=(--no-index -- /dev/null "$path")
elif [ -n "$spec" ]; then
    args+=(-- "$spec")
fi
git "${args[@]}" | head -c "$cap"
code=${PIPESTATUS[0]}
if [ "$noindex" = 1 ] && [ "$code" = 1 ]; then exit 0; fi
if [ "$code" = 141 ]; then exit 0; fi
exit "$code"
