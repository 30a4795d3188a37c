# shellcheck shell=sh
# What a terminal session's tmux session runs when its environment has variables, with the
# session's variables file $HOME/$1 (written by start.sh, mode 0600, `export NAME='value'`
# lines): it reads the file, removes it, and becomes the user's login shell (tmux's default
# shell, which tmux puts in SHELL), which keeps them in its environment for every program it
# starts. No value is ever an argument here: the command line names only the file.
file=$HOME/$1
# shellcheck source=/dev/null
if [ -r "$file" ]; then . "$file"; fi
rm -f -- "$file"
exec "${SHELL:-/bin/sh}" -l
