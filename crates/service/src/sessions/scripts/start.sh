# shellcheck shell=sh
# Starts the tmux session $1 unless it runs, with its shell in $2, which must resolve
# (symlinks followed) to a folder inside /workspace. The session's name $3 is a tmux option
# (@craftastic_name) that the status bar shows, and CRAFTASTIC_SESSION for the prompt.
# Its output is recorded (`record`, defined before this script: see record.sh) within $4
# bytes by the recorder $5, which starts with it, or now if it runs unrecorded.
# When $6 is not empty, standard input holds the session's variables: they are written to
# $HOME/$6 (mode 0600), which the session's command reads and removes as it starts.
# Arguments after $6, if any, are the command the session runs instead of a shell.
# In a devcontainer workspace, the session gets the variables of CRAFTASTIC_SESSION_ENV (one
# NAME=value a line: remoteEnv, and a PATH with the image's commands first); those of $6 are
# read after them.
# Prints `started` when it started the tmux session, nothing when it ran already.
# Exits 3 when the folder does not exist, 4 when it leads outside the worktree and 5 when
# the variables cannot be written.
set -u
name=$1 dir=$2 session=$3 limit=$4 recorder=$5 variables=$6
shift 6
nl='
'
rest=${CRAFTASTIC_SESSION_ENV-}
while [ -n "$rest" ]; do
    pair=${rest%%"$nl"*}
    if [ "$pair" = "$rest" ]; then rest=; else rest=${rest#*"$nl"}; fi
    case $pair in *=*) set -- -e "$pair" "$@" ;; esac
done
if tmux has-session -t "=$name" 2>/dev/null; then
    # The variables are for a new tmux session: read and dropped, so the writer never waits.
    if [ -n "$variables" ]; then cat >/dev/null; fi
    record "$name" "$limit" "$recorder"
    exit 0
fi
real=$(cd -- "$dir" 2>/dev/null && pwd -P) || exit 3
case "$real/" in /workspace/*) ;; *) exit 4 ;; esac
if [ -n "$variables" ]; then
    file=$HOME/$variables
    (umask 077 && mkdir -p -- "$(dirname -- "$file")" && cat >"$file") || exit 5
fi
if ! tmux new-session -d -s "$name" -c "$real" -x 120 -y 40 -e "CRAFTASTIC_SESSION=$session" "$@"; then
    if [ -n "$variables" ]; then rm -f -- "$file"; fi
    exit 1
fi
echo started
tmux set-option -t "=$name:" @craftastic_name "$session" &&
    record "$name" "$limit" "$recorder"
