# shellcheck shell=sh
# Removes an agent session's private folder $HOME/$1 (its credential included), if there
# is one. An empty $1 is refused rather than taken as the whole home folder.
rm -rf -- "${HOME:?}/${1:?}"
