# shellcheck shell=sh
# The recorder of one tmux session: tmux's pipe-pane runs it with the pane's output on
# standard input (see record.sh). Its arguments are the tmux session's name ($1), the bytes
# of recording to keep ($2), and the pane's width ($3) and height ($4).
#
# It writes asciicast v2 events, one a line, into $HOME/.craftastic/recordings/$1: `cur`
# gets each chunk of output as it comes, as `[TIME, "o", DATA]` with TIME in seconds since
# the epoch (the server makes them relative), and `[TIME, "r", "WxH"]` when the pane's
# size changes: a tmux hook writes the new size into `size`, which is looked at before each
# output and every 0.1 s for 2 s after one (a resize brings a redraw). Once `cur` holds an
# eighth of the cap it is compressed into the next numbered segment (000000000001.gz, …)
# and the oldest segments go, so that about the cap is kept. Bytes of a UTF-8 character
# split between two reads wait for their end; other bytes that are not UTF-8 are written
# as they are, and the server repairs them. Input is never recorded.
#
# Perl (perl-base) and gzip are in every Debian-based image; Time::HiRes gives the clock
# when it is there, else POSIX::times (10 ms steps). One recorder runs per session (a lock
# in the folder): a second one waits two seconds for the first to end, then gives up.
# shellcheck disable=SC2016
exec perl -e '
use strict;
use warnings;
use Fcntl qw(:flock :mode O_WRONLY O_CREAT O_APPEND O_NOFOLLOW);
use POSIX ();

my ($name, $limit, $width, $height) = @ARGV;
exit 2 unless defined $height && $name =~ /\A[A-Za-z0-9_-]{1,64}\z/
    && $limit =~ /\A[0-9]{1,12}\z/ && $width =~ /\A[0-9]{1,5}\z/ && $height =~ /\A[0-9]{1,5}\z/;
$0 = "craftastic-recorder $name";
$SIG{PIPE} = "IGNORE";
umask 077;

my $clock;
if (eval { require Time::HiRes; 1 }) {
    $clock = \&Time::HiRes::time;
} else {
    my $tick = POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100;
    my ($t0, $c0) = (time, (POSIX::times())[0]);
    $clock = sub { $t0 + ((POSIX::times())[0] - $c0) / $tick };
}

my $dir = "$ENV{HOME}/.craftastic";
for my $d ($dir, "$dir/recordings", "$dir/recordings/$name") {
    mkdir $d, 0700;
}
chdir "$dir/recordings/$name" or exit 1;
open(my $lock, ">>", "lock") or exit 1;
my $tries = 0;
until (flock($lock, LOCK_EX | LOCK_NB)) {
    exit 0 if ++$tries > 40;
    select(undef, undef, undef, 0.05);
}

my $seg = int($limit / 8);
$seg = 16384 if $seg < 16384;
my $keep = int($limit / $seg) - 1;
$keep = 1 if $keep < 1;

my $last = 0;
opendir(my $d, ".") or exit 1;
for (readdir $d) {
    $last = $1 + 0 if /\A([0-9]{1,12})\.gz\z/ && $1 > $last;
}
closedir $d;

my ($out, $size);
sub open_cur {
    for (1 .. 2) {
        if (sysopen($out, "cur", O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600)) {
            my @st = stat $out;
            if (@st && S_ISREG($st[2])) {
                $size = $st[7];
                return 1;
            }
            close $out;
        }
        unlink "cur";
    }
    exit 1;
}

sub prune {
    opendir(my $d, ".") or return;
    my @old = sort { $b <=> $a } map { /\A([0-9]{1,12})\.gz\z/ ? $1 : () } readdir $d;
    closedir $d;
    unlink map { "$_.gz" } @old[$keep .. $#old] if @old > $keep;
}

sub rotate {
    close $out;
    my $next = sprintf("%012d.gz", ++$last);
    my $pid = fork;
    if (defined $pid && $pid == 0) {
        open(STDIN, "<", "cur") && open(STDOUT, ">", "segment.partial")
            && exec("gzip", "-c", "-n", "-q");
        POSIX::_exit(127);
    }
    if (defined $pid && waitpid($pid, 0) == $pid && $? == 0) {
        rename "segment.partial", $next;
    } else {
        unlink "segment.partial";
    }
    unlink "cur";
    prune();
    open_cur();
}

my %esc = map { chr($_) => sprintf("\\u%04x", $_) } 0 .. 31;

sub event {
    my ($code, $data) = @_;
    # Passes with fixed replacements first: four times as fast as one with a lookup on
    # output such as `yes`, where every other byte needs escaping.
    $data =~ s/([\\"])/\\$1/g;
    $data =~ s/\r\n/\\r\\n/g;
    $data =~ s/\n/\\n/g;
    $data =~ s/\r/\\r/g;
    $data =~ s/\t/\\t/g;
    $data =~ s/([\x00-\x1f])/$esc{$1}/g;
    my $line = sprintf("[%.6f,\"%s\",\"%s\"]\n", $clock->(), $code, $data);
    syswrite($out, $line);
    $size += length $line;
    rotate() if $size >= $seg;
}

my $seen = "";
sub resized {
    my @st = stat "size";
    my $key = @st && S_ISREG($st[2]) ? "$st[1]:$st[7]:$st[9]" : "";
    return if $key eq $seen;
    $seen = $key;
    open(my $f, "<", "size") or return;
    my $line = <$f>;
    event("r", "$1x$2") if defined $line && $line =~ /\A([0-9]{1,5}) ([0-9]{1,5})\s*\z/;
}

open_cur();
event("r", "${width}x${height}");
resized();
my ($held, $spoke, $rin) = ("", 0, "");
vec($rin, fileno(STDIN), 1) = 1;
while (1) {
    if ($clock->() - $spoke < 2) {
        my $k = select(my $ready = $rin, undef, undef, 0.1);
        if (defined $k && $k == 0) {
            resized();
            next;
        }
    }
    my $n = sysread(STDIN, my $buf, 65536);
    if (!defined $n) {
        next if $!{EINTR};
        last;
    }
    last if $n == 0;
    $spoke = $clock->();
    resized();
    $buf = $held . $buf;
    $held = "";
    if ($buf =~ /([\xc0-\xf7][\x80-\xbf]{0,2})\z/) {
        my ($tail, $lead) = ($1, ord $1);
        my $need = $lead >= 0xf0 ? 4 : $lead >= 0xe0 ? 3 : 2;
        if (length($tail) < $need) {
            $held = $tail;
            substr($buf, -length($tail)) = "";
        }
    }
    event("o", $buf) if length $buf;
}
event("o", $held) if length $held;
' -- "$@"
