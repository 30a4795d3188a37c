# shellcheck shell=sh
# Run when a workspace container starts, before any session does: removes every agent
# session's private folder ($HOME/.craftastic/agents) and every session's variables file
# ($HOME/.craftastic/variables), and in the state root $1 the folder of every session not
# named in $2 (space-separated ids: the workspace's agent sessions that still have their
# agent), and the credentials files named after $2 from the others. Sessions started again
# write theirs anew.
set -u
root=$1 keep=" $2 "
shift 2
rm -rf -- "${HOME:?}/.craftastic/agents" "${HOME:?}/.craftastic/variables"
if [ -L "$root" ] || [ ! -d "$root" ]; then exit 0; fi
for dir in "$root"/* "$root"/.[!.]* "$root"/..?*; do
    if [ ! -e "$dir" ] && [ ! -L "$dir" ]; then continue; fi
    name=${dir##*/}
    case $keep in
    *" $name "*)
        for file in "$@"; do rm -f -- "$dir/$file"; done
        ;;
    *)
        if [ "$name" != .gitignore ]; then rm -rf -- "$dir"; fi
        ;;
    esac
done
