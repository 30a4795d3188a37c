# shellcheck shell=bash
# Pushes the branch $2 to the remote $1 and makes it the branch's upstream.
exec git push --porcelain --set-upstream "$1" "refs/heads/$2:refs/heads/$2"
