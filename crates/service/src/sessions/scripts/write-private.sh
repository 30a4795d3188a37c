# shellcheck shell=sh
# Writes its standard input to $HOME/$1/$2 with mode 0600, in folders of mode 0700,
# replacing the file at once (a half-written credential is never read).
set -eu
umask 077
dir=$HOME/$1 path=$HOME/$1/$2
mkdir -p -- "$(dirname -- "$path")"
chmod 700 -- "$HOME/.craftastic" "$HOME/.craftastic/agents" "$dir"
cat > "$path.partial"
mv -f -- "$path.partial" "$path"
