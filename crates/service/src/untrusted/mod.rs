//! Files a container can write, touched by the host without trusting them.
//!
//! Every environment's bare clone is bind-mounted read-write into its workspace containers,
//! where anyone may put a link to a host path (`/etc`, `/proc/self/root`), a fifo, a sparse
//! file of gigabytes or folders nested a million deep where git keeps its files. The server
//! runs as root, so after the initial clone the host reads and removes a clone only through
//! this module, and hands a fresh clone to the sandbox user through it too:
//!
//! - every path is walked one component at a time from a directory file descriptor, with
//!   `openat(O_NOFOLLOW)`: a link is never followed, at any level, and a link swapped in
//!   after a check changes nothing, because every later step is relative to the descriptor
//!   of what was checked;
//! - only regular files are opened (checked with `fstatat(AT_SYMLINK_NOFOLLOW)` before the
//!   open and `fstat` after it); fifos, sockets and devices are skipped, and opens carry
//!   `O_NONBLOCK`, so that a fifo swapped in between the two checks cannot block (a device
//!   cannot be swapped in: containers hold no `CAP_MKNOD`);
//! - every read has a size cap and every walk a depth and an entry cap, so that nothing a
//!   container writes makes the server spin, block or run out of memory.

mod refs;
mod remove;

#[cfg(test)]
mod tests;

use std::ffi::CStr;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

pub use refs::{branch_exists, branches, head_branch};
pub use remove::{chown_all, remove_all, remove_path};

/// How far a walk goes: folders nested deeper than `depth` below its start are not entered,
/// and it stops after `entries` directory entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub depth: usize,
    pub entries: usize,
}

/// Removing or re-owning a whole clone. A clone is git's shallow layout; the entry cap
/// only stops a container that keeps adding files while its clone is being removed.
pub const CLONE: Limits = Limits {
    depth: 64,
    entries: 10_000_000,
};

/// Removing one worktree's folder in a clone (`worktrees/<workspace id>`: a dozen files).
pub const WORKTREE: Limits = Limits {
    depth: 16,
    entries: 100_000,
};

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::NONBLOCK)
    .union(OFlags::CLOEXEC);

const FILE_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::NOFOLLOW)
    .union(OFlags::NONBLOCK)
    .union(OFlags::NOCTTY)
    .union(OFlags::CLOEXEC);

/// A directory opened without following a link, the handle to everything below it.
#[derive(Debug)]
pub struct Dir(OwnedFd);

impl Dir {
    /// Opens the directory at `path`. Its last component must not be a link; the components
    /// before it are the host's own folders (`<data dir>/repos`) and resolve as usual, so an
    /// operator may keep the data dir behind a link.
    pub fn open(path: &Path) -> io::Result<Self> {
        Ok(Self(rustix::fs::open(path, DIR_FLAGS, Mode::empty())?))
    }

    /// The directory at `rel` (`a/b/c`) below this one, each component opened without
    /// following a link.
    pub fn dir(&self, rel: &str) -> io::Result<Self> {
        let mut dir = self.try_clone()?;
        for part in components(rel)? {
            dir = dir.child(part)?;
        }
        Ok(dir)
    }

    /// The regular file at `rel` below this one, whole; a larger file than `cap` bytes is an
    /// error.
    pub fn read_small(&self, rel: &str, cap: u64) -> io::Result<Vec<u8>> {
        let (bytes, more) = self.read_prefix(rel, cap)?;
        if more {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!("{rel} is larger than {cap} bytes"),
            ));
        }
        Ok(bytes)
    }

    /// The first `cap` bytes of the regular file at `rel` below this one, and whether the
    /// file holds more.
    pub fn read_prefix(&self, rel: &str, cap: u64) -> io::Result<(Vec<u8>, bool)> {
        let (dir, name) = self.parent_of(rel)?;
        let file = std::fs::File::from(dir.open_regular(name)?);
        let mut bytes = Vec::new();
        file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
        let more = bytes.len() as u64 > cap;
        bytes.truncate(cap as usize);
        Ok((bytes, more))
    }

    /// The regular files below this directory, as paths relative to it, in no particular
    /// order. Links, fifos, sockets and devices are skipped, as are names that are not UTF-8;
    /// folders deeper than `limits.depth` are not entered, and the walk stops after
    /// `limits.entries` entries. A folder that cannot be read is skipped.
    pub fn regular_files(&self, limits: Limits) -> Vec<String> {
        let mut found = Vec::new();
        let Ok(root) = self.try_clone().and_then(Listing::new) else {
            return found;
        };
        let mut stack = vec![(root, String::new())];
        let mut seen = 0usize;
        loop {
            let open = stack.len();
            let Some((listing, prefix)) = stack.last_mut() else {
                break;
            };
            // A folder that cannot be read further is left.
            let Ok(Some(entry)) = listing.next_entry() else {
                stack.pop();
                continue;
            };
            seen += 1;
            if seen > limits.entries {
                break;
            }
            let Ok(name) = entry.name.to_str() else {
                continue;
            };
            match listing.kind_of(&entry) {
                FileType::RegularFile => found.push(format!("{prefix}{name}")),
                FileType::Directory if open <= limits.depth => {
                    let path = format!("{prefix}{name}/");
                    if let Ok(child) = listing.dir.child(name).and_then(Listing::new) {
                        stack.push((child, path));
                    }
                }
                _ => {}
            }
        }
        found
    }

    fn try_clone(&self) -> io::Result<Self> {
        Ok(Self(self.0.try_clone()?))
    }

    fn child<P: rustix::path::Arg>(&self, name: P) -> io::Result<Self> {
        Ok(Self(rustix::fs::openat(
            &self.0,
            name,
            DIR_FLAGS,
            Mode::empty(),
        )?))
    }

    /// The directory holding the last component of `rel`, and that component.
    fn parent_of<'a>(&self, rel: &'a str) -> io::Result<(Self, &'a str)> {
        let parts = components(rel)?;
        let (name, dirs) = parts.split_last().expect("components are never empty");
        let mut dir = self.try_clone()?;
        for part in dirs {
            dir = dir.child(*part)?;
        }
        Ok((dir, name))
    }

    /// Opens `name` in this directory if it is a regular file, and nothing else: what is not
    /// one is refused before the open, and checked again on the descriptor after it.
    fn open_regular(&self, name: &str) -> io::Result<OwnedFd> {
        let before = rustix::fs::statat(&self.0, name, AtFlags::SYMLINK_NOFOLLOW)?;
        if FileType::from_raw_mode(before.st_mode) != FileType::RegularFile {
            return Err(not_regular(name));
        }
        let fd = rustix::fs::openat(&self.0, name, FILE_FLAGS, Mode::empty())?;
        let after = rustix::fs::fstat(&fd)?;
        if FileType::from_raw_mode(after.st_mode) != FileType::RegularFile {
            return Err(not_regular(name));
        }
        Ok(fd)
    }

    fn kind_of(&self, name: &CStr) -> FileType {
        rustix::fs::statat(&self.0, name, AtFlags::SYMLINK_NOFOLLOW)
            .map_or(FileType::Unknown, |st| FileType::from_raw_mode(st.st_mode))
    }
}

impl AsFd for Dir {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// One entry of a directory being listed.
struct Entry {
    name: std::ffi::CString,
    kind: FileType,
}

/// The entries of one open directory, read through its own descriptor (a `Dir` stays
/// usable for `openat` and `unlinkat` while its entries are read).
struct Listing {
    dir: Dir,
    entries: rustix::fs::Dir,
}

impl Listing {
    fn new(dir: Dir) -> io::Result<Self> {
        let entries = rustix::fs::Dir::read_from(&dir.0)?;
        Ok(Self { dir, entries })
    }

    /// The next entry other than `.` and `..`; `None` at the end.
    fn next_entry(&mut self) -> io::Result<Option<Entry>> {
        loop {
            let Some(entry) = self.entries.read().transpose()? else {
                return Ok(None);
            };
            let name = entry.file_name();
            if name == c"." || name == c".." {
                continue;
            }
            return Ok(Some(Entry {
                name: name.to_owned(),
                kind: entry.file_type(),
            }));
        }
    }

    /// The entry's type, asked of the file system when the listing does not say.
    fn kind_of(&self, entry: &Entry) -> FileType {
        match entry.kind {
            FileType::Unknown => self.dir.kind_of(&entry.name),
            kind => kind,
        }
    }

    fn rewind(&mut self) {
        self.entries.rewind();
    }
}

/// The components of a relative path; empty, `.` and `..` components are refused, so that a
/// walk never leaves the directory it starts from.
fn components(rel: &str) -> io::Result<Vec<&str>> {
    let parts: Vec<&str> = rel.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{rel:?} is not a plain relative path"),
        ));
    }
    Ok(parts)
}

fn not_regular(name: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{name} is not a regular file"),
    )
}
