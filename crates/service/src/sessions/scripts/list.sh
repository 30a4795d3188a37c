# shellcheck shell=sh
# The names of the running tmux sessions, one a line.
tmux list-sessions -F '#{session_name}' 2>/dev/null; exit 0
