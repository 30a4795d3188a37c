# shellcheck shell=sh
# Exits 0 when the tmux session $1 runs.
tmux has-session -t "=$1" 2>/dev/null
