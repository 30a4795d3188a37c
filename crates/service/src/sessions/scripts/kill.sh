# shellcheck shell=sh
# Ends the tmux session $1, if it runs, and removes its variables file if its command did
# not; with $2 `forget`, removes its recording too.
tmux kill-session -t "=$1" 2>/dev/null
rm -f -- "${HOME:?}/.craftastic/variables/${1:?}"
if [ "${2:-}" = forget ]; then rm -rf -- "${HOME:?}/.craftastic/recordings/${1:?}"; fi
exit 0
