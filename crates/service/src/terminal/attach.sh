# shellcheck shell=sh
# A viewer's tmux client: attaches to the session $1, or exits 100 (printing nothing) when it
# is gone. Never `-d`, so viewers never kick each other off.
tmux has-session -t "=$1" 2>/dev/null || exit 100
exec tmux attach-session -t "=$1"
