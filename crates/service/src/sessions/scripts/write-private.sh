# shellcheck shell=sh
# Writes its standard input to $1/$2 with mode 0600, $1 being the session's private folder
# (relative to $HOME) or its state folder (absolute), both made by prepare-agent.sh. The
# file replaces the old one at once (a half-written credential is never read).
set -eu
umask 077
case $1 in
/*) path=$1/$2 ;;
*) path=$HOME/$1/$2 ;;
esac
mkdir -p -- "$(dirname -- "$path")"
cat >"$path.partial"
mv -f -- "$path.partial" "$path"
