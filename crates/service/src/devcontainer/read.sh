# shellcheck shell=sh
# Reads a branch's devcontainer.json from the bare clone $2 (mounted read-only) with git,
# which reads it from git's own objects: no file of the clone is opened as a path, and a
# symbolic link in the branch is never followed.
#
#   read.sh config REPO BRANCH BASE MAX   prints the commit (BRANCH's tip, or BASE's when
#       BRANCH does not exist yet), the path of the devcontainer.json found and then its
#       content; exits 4 when there is none, 5 when it is not a regular file, 6 when it
#       is larger than MAX bytes.
#   read.sh context REPO COMMIT DIR       prints a tar of the folder DIR ("" for the root)
#       of COMMIT: a build context.
set -eu
mode=$1 repo=$2
case $mode in
config)
    branch=$3 base=$4 max=$5
    commit=$(git -C "$repo" rev-parse --verify --quiet --end-of-options "refs/heads/$branch^{commit}" ||
        git -C "$repo" rev-parse --verify --quiet --end-of-options "refs/heads/$base^{commit}") || exit 3
    for path in .devcontainer/devcontainer.json .devcontainer.json; do
        entry=$(git -C "$repo" ls-tree "$commit" -- "$path")
        [ -n "$entry" ] || continue
        case $entry in
        "100644 blob "* | "100755 blob "*) ;;
        *) echo "$path" && exit 5 ;;
        esac
        size=$(git -C "$repo" cat-file -s "$commit:$path")
        [ "$size" -le "$max" ] || { echo "$path" && exit 6; }
        printf '%s\n%s\n' "$commit" "$path"
        git -C "$repo" cat-file blob "$commit:$path"
        exit 0
    done
    exit 4
    ;;
context)
    commit=$3 dir=$4
    if [ -z "$dir" ]; then
        exec git -C "$repo" archive --format=tar "$commit"
    fi
    [ "$(git -C "$repo" cat-file -t "$commit:$dir" 2>/dev/null)" = tree ] || {
        echo "the build context $dir is not a folder of the branch" >&2
        exit 7
    }
    exec git -C "$repo" archive --format=tar "$commit:$dir"
    ;;
esac
exit 2
