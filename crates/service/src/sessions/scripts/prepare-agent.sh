# shellcheck shell=sh
# Readies an agent session's folders before its CLI starts: the private folder $HOME/$1
# (made anew, mode 0700, for the env file), and the session's state folder $2/$3 in the
# worktree (kept, mode 0700), with the CLI's own folder $4 in it when $4 is not empty.
# The arguments after $4 are the credentials files in the state folder: removed here,
# so that only the one the server writes next is there. The state root $2 holds a
# .gitignore of `*`, so git neither shows nor commits anything in it. Exits 3 when the
# state root is a symbolic link (the repository may carry one), refusing to follow it.
set -eu
umask 077
private=$HOME/$1 root=$2 state=$2/$3 folder=$4
shift 4
rm -rf -- "$private"
mkdir -p -- "$private"
chmod 700 -- "$HOME/.craftastic" "$HOME/.craftastic/agents" "$private"
if [ -L "$root" ]; then
    echo "$root is a symbolic link; remove it so that agent sessions can keep their state there" >&2
    exit 3
fi
mkdir -p -- "$state"
chmod 700 -- "$root" "$state"
if [ ! -e "$root/.gitignore" ]; then printf '*\n' >"$root/.gitignore"; fi
if [ -n "$folder" ]; then mkdir -p -- "$state/$folder"; fi
for file in "$@"; do rm -f -- "$state/$file"; done
