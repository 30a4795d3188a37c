# shellcheck shell=bash
# $1 commits to skip, $2 commits to show, in the format $LOG_FORMAT. A branch without
# commits has no log.
git rev-parse --verify --quiet HEAD >/dev/null || exit 0
exec git log --no-color "$LOG_FORMAT" --skip="$1" -n "$2" HEAD --
