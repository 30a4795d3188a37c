//! Removing and re-owning trees a container can write, through directory descriptors.
//!
//! `std::fs::remove_dir_all` does not follow links either, but it recurses once per level
//! of nesting, so folders nested a hundred thousand deep overflow the server's stack. Here
//! the walk is a loop over a stack of open directories, at most `depth` of them: a folder
//! found deeper than that is first moved up to the top of the tree being removed (with
//! `renameat`, inside the same tree), so that any depth is removed with bounded memory.
//!
//! Race-free: every step is an `openat`, `unlinkat` or `renameat` relative to the descriptor
//! of a directory opened with `O_NOFOLLOW`. A link is unlinked, never followed. A folder that
//! a container renames or swaps for a link while it is being removed is either removed where
//! it now is, if its descriptor is already open (and a container can move things only
//! within its own bind mount), or seen as the link it has become.

use std::io;
use std::path::Path;

use rustix::fs::{AtFlags, FileType, RenameFlags};
use rustix::io::Errno;

use super::{Dir, Limits, Listing, components};

/// Removes `rel` below `dir`, whatever it is: a folder with everything in it, a file, or a
/// link (the link itself). Nothing there is fine. Fails after `limits.entries` entries,
/// leaving the rest.
pub fn remove_all(dir: &Dir, rel: &str, limits: Limits) -> io::Result<()> {
    let parent_and_name = components(rel).and_then(|parts| {
        let (name, dirs) = parts.split_last().expect("components are never empty");
        let mut parent = dir.try_clone()?;
        for part in dirs {
            parent = parent.child(*part)?;
        }
        Ok((parent, *name))
    });
    let (parent, name) = match parent_and_name {
        Ok(found) => found,
        // A folder on the way that is missing, a link or not a folder holds nothing of ours.
        Err(e) if gone(&e) => return Ok(()),
        Err(e) => return Err(e),
    };
    remove_entry(&parent, name, limits)
}

/// Removes the folder (or file) at `path`, whose parent is one of the host's own folders
/// (`<data dir>/repos`); below it, nothing is followed. Nothing there is fine.
pub fn remove_path(path: &Path, limits: Limits) -> io::Result<()> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} has no parent folder", path.display()),
        ));
    };
    let name = name.to_str().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not UTF-8", path.display()),
        )
    })?;
    let parent = match rustix::fs::open(
        parent,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    ) {
        Ok(fd) => Dir(fd),
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    remove_entry(&parent, name, limits)
}

/// Hands the folder at `path` and everything in it to `uid:gid`; links are re-owned
/// themselves, never followed. Fails beyond `limits` (folders nested deeper than
/// `limits.depth` or more than `limits.entries` entries), so that a clone too strange to
/// hand over is refused rather than half handed over unnoticed.
pub fn chown_all(path: &Path, uid: u32, gid: u32, limits: Limits) -> io::Result<()> {
    let owner = Some(rustix::fs::Uid::from_raw(uid));
    let group = Some(rustix::fs::Gid::from_raw(gid));
    let root = Dir::open(path)?;
    rustix::fs::fchown(&root, owner, group)?;
    let mut stack = vec![Listing::new(root)?];
    let mut seen = 0usize;
    loop {
        let open = stack.len();
        let Some(top) = stack.last_mut() else {
            return Ok(());
        };
        let Some(entry) = top.next_entry()? else {
            stack.pop();
            continue;
        };
        seen += 1;
        if seen > limits.entries {
            return Err(too_many(&path.display().to_string(), limits));
        }
        if top.kind_of(&entry) == FileType::Directory {
            if open > limits.depth {
                return Err(io::Error::other(format!(
                    "{} holds folders nested deeper than {}",
                    path.display(),
                    limits.depth
                )));
            }
            let child = top.dir.child(entry.name.as_c_str())?;
            rustix::fs::fchown(&child, owner, group)?;
            stack.push(Listing::new(child)?);
        } else {
            rustix::fs::chownat(
                &top.dir,
                entry.name.as_c_str(),
                owner,
                group,
                AtFlags::SYMLINK_NOFOLLOW,
            )?;
        }
    }
}

/// Removes `name` in `parent`: unlinks it unless it is a folder (a link is unlinked, not
/// followed), else empties it with [`empty_and_remove`].
fn remove_entry(parent: &Dir, name: &str, limits: Limits) -> io::Result<()> {
    let c_name = std::ffi::CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in a name"))?;
    match parent.child(c_name.as_c_str()) {
        Ok(dir) => empty_and_remove(parent, c_name, dir, limits),
        Err(e) if e.raw_os_error() == Some(Errno::NOENT.raw_os_error()) => Ok(()),
        // Not a folder (ENOTDIR), or a link (ELOOP): the entry itself goes.
        Err(e)
            if e.raw_os_error() == Some(Errno::NOTDIR.raw_os_error())
                || e.raw_os_error() == Some(Errno::LOOP.raw_os_error()) =>
        {
            unlink(parent, &c_name)
        }
        Err(e) => Err(e),
    }
}

/// One folder being emptied: its entries, and its name in the folder above.
struct Frame {
    listing: Listing,
    name: std::ffi::CString,
}

/// Empties `dir` (`name` in `parent`) depth first and removes it. A folder that is not empty
/// when its turn comes (something was added meanwhile) is read again, up to the entry cap.
fn empty_and_remove(
    parent: &Dir,
    name: std::ffi::CString,
    dir: Dir,
    limits: Limits,
) -> io::Result<()> {
    // The top folder and one below it at least, so that a folder moved up moves somewhere.
    let depth = limits.depth.max(2);
    let mut stack = vec![Frame {
        listing: Listing::new(dir)?,
        name,
    }];
    let mut seen = 0usize;
    let mut moved = 0u64;
    loop {
        let open = stack.len();
        let top = stack
            .last_mut()
            .expect("the stack ends with its last folder");
        let Some(entry) = top.listing.next_entry()? else {
            let frame = stack.pop().expect("the stack is not empty");
            let above = stack.last().map_or(parent, |f| &f.listing.dir);
            match rustix::fs::unlinkat(above, frame.name.as_c_str(), AtFlags::REMOVEDIR) {
                Ok(()) | Err(Errno::NOENT) if stack.is_empty() => return Ok(()),
                Ok(()) | Err(Errno::NOENT) => continue,
                Err(Errno::NOTEMPTY) => {
                    // Reading a folder again counts as an entry, so that this ends too.
                    seen += 1;
                    if seen > limits.entries {
                        return Err(too_many(&frame.name.to_string_lossy(), limits));
                    }
                    let mut frame = frame;
                    frame.listing.rewind();
                    stack.push(frame);
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        };
        seen += 1;
        if seen > limits.entries {
            return Err(too_many(&stack[0].name.to_string_lossy(), limits));
        }
        if top.listing.kind_of(&entry) != FileType::Directory {
            unlink(&top.listing.dir, &entry.name)?;
            continue;
        }
        if open >= depth {
            // Too deep to hold one more descriptor: move the folder up to the top of the
            // tree, where it is found again when the top is read once more.
            rename_to_top(&stack, &entry.name, &mut moved)?;
            continue;
        }
        match top.listing.dir.child(entry.name.as_c_str()) {
            Ok(child) => stack.push(Frame {
                listing: Listing::new(child)?,
                name: entry.name,
            }),
            Err(e) if gone(&e) => unlink(&top.listing.dir, &entry.name)?,
            Err(e) => return Err(e),
        }
    }
}

/// Moves the folder `name` of the deepest open folder to the top folder of the stack, under
/// a name no entry there has.
fn rename_to_top(stack: &[Frame], name: &std::ffi::CStr, moved: &mut u64) -> io::Result<()> {
    let from = &stack.last().expect("a folder is open").listing.dir;
    let to = &stack[0].listing.dir;
    loop {
        *moved += 1;
        let new_name = format!(".craftastic-deep-{moved}");
        match rustix::fs::renameat_with(from, name, to, new_name.as_str(), RenameFlags::NOREPLACE) {
            Ok(()) | Err(Errno::NOENT) => return Ok(()),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Unlinks a non-folder; one that is gone already is fine, and one that turned into a folder
/// meanwhile is left for the next reading of its parent.
fn unlink(dir: &Dir, name: &std::ffi::CStr) -> io::Result<()> {
    match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) | Err(Errno::ISDIR) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Whether opening a folder failed because there is no folder there to act on: missing, a
/// link, or not a folder.
fn gone(e: &io::Error) -> bool {
    [Errno::NOENT, Errno::NOTDIR, Errno::LOOP]
        .iter()
        .any(|errno| e.raw_os_error() == Some(errno.raw_os_error()))
}

fn too_many(what: &str, limits: Limits) -> io::Error {
    io::Error::other(format!("{what} holds more than {} entries", limits.entries))
}
