# shellcheck shell=sh
# Defines `record NAME LIMIT PROGRAM`, which starts recording the tmux session NAME unless
# its pane is recorded already or LIMIT is 0 (recordings off): PROGRAM (recorder.sh) is
# installed as $HOME/.craftastic/recorder.sh, a hook of the session's window writes its
# size into the recording's folder when it changes, and tmux pipes the pane's output into
# the recorder. start.sh and watch.sh begin with it. It never fails its caller.
record() {
    case ${2:-0} in 0 | *[!0-9]*) return 0 ;; esac
    rec=$HOME/.craftastic/recordings/$1
    (umask 077 && mkdir -p -- "$rec" &&
        printf '%s' "$3" >"$HOME/.craftastic/recorder.sh.$$" &&
        mv -f -- "$HOME/.craftastic/recorder.sh.$$" "$HOME/.craftastic/recorder.sh") || return 0
    # tmux shows a failing run-shell's status over the pane (and takes the keys typed while
    # it shows), so the hook must never fail: two quick resizes race on size.new.
    tmux set-hook -w -t "=$1:" window-resized \
        "run-shell -b \"{ echo #{pane_width} #{pane_height} >'$rec/size.new' && mv -f '$rec/size.new' '$rec/size'; } 2>/dev/null || true\"" 2>/dev/null
    [ "$(tmux display-message -p -t "=$1:" '#{pane_pipe}' 2>/dev/null)" = 0 ] || return 0
    tmux pipe-pane -t "=$1:" "exec sh '$HOME/.craftastic/recorder.sh' $1 $2 #{pane_width} #{pane_height}" 2>/dev/null
    return 0
}
