# shellcheck shell=sh
# Shows the tmux session $1 under the name $2, in the status bar and to new shells.
tmux set-option -t "=$1:" @craftastic_name "$2" && tmux set-environment -t "=$1" CRAFTASTIC_SESSION "$2"; exit 0
