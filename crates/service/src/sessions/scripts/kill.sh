# shellcheck shell=sh
# Ends the tmux session $1, if it runs.
tmux kill-session -t "=$1" 2>/dev/null; exit 0
