# shellcheck shell=sh
# Removes an agent session's private folder $HOME/$1 and, with $3 = all, its state folder
# $2 too (its conversations); otherwise only the credentials files named after $3 in the
# state folder, so that the CLI continues its conversation when the session starts again.
# An empty $1 or $2 is refused rather than taken as the whole folder above.
set -u
private=${HOME:?}/${1:?} state=${2:?} what=${3:?}
shift 3
rm -rf -- "$private"
if [ "$what" = all ]; then
    rm -rf -- "$state"
else
    for file in "$@"; do rm -f -- "$state/$file"; done
fi
