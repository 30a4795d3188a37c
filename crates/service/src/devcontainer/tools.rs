//! Craftastic's own tools for devcontainer workspaces: tmux, git, a shell and the rest of
//! what its scripts call, taken from the sandbox image with every library they load and the
//! dynamic loader, each program pointed at those (`patchelf`), so that they run in any x86-64
//! Linux image whatever its C library, or none. They make one image of their own
//! (`FROM scratch`) that each workspace image copies `/opt/craftastic` from.

use std::collections::BTreeMap;
use std::path::{Component, Path};
use std::time::Duration;

use craftastic_domain::WorkspaceId;
use craftastic_runtime::{Bind, BuildSpec, ContainerSpec, ExecSpec, Runtime};
use sha2::Digest;

use crate::sandbox::{SandboxSettings, labels};
use crate::{ServiceError, ServiceResult};

/// Gathers the tools in a container of the sandbox image; see its head.
const COLLECT: &str = include_str!("collect.sh");
/// Run as root when a workspace image is built; see its head.
pub(super) const SETUP: &str = include_str!("setup.sh");

/// Where the tools are in every devcontainer workspace.
pub const ROOT: &str = "/opt/craftastic";
const LOADER: &str = "/opt/craftastic/lib/ld-linux-x86-64.so.2";
const LIBS: &str = "/opt/craftastic/lib";
/// The most the gathered tools may weigh (about 65 MB today).
const MAX_TAR: usize = 512 << 20;
const COLLECT_DEADLINE: Duration = Duration::from_secs(180);
const PATCHELF_DEADLINE: Duration = Duration::from_secs(30);

/// The tag of the tools image made from the sandbox image `sandbox_id`.
pub fn tag(sandbox_id: &str) -> String {
    let mut hash = sha2::Sha256::new();
    for part in [sandbox_id, COLLECT, SETUP] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    format!(
        "craftastic/devcontainer-tools:{}",
        &hex::encode(hash.finalize())[..16]
    )
}

/// Makes the tools image unless the engine has it; returns its tag. `progress` gets what is
/// being done.
/// Fails: the sandbox image is missing, patchelf is not installed, or the engine fails → 502.
pub async fn ensure(
    runtime: &dyn Runtime,
    settings: &SandboxSettings,
    workspace: WorkspaceId,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> ServiceResult<String> {
    let Some(sandbox) = runtime.image_info(&settings.image).await? else {
        return Err(ServiceError::Upstream(format!(
            "the sandbox image {} is missing; an admin can build it with `craftastic image build`",
            settings.image
        )));
    };
    let tag = tag(&sandbox.id);
    if runtime.image_exists(&tag).await? {
        return Ok(tag);
    }
    progress(&format!(
        "gathering Craftastic's tools from {} (once per sandbox image)",
        settings.image
    ));
    let tar = collect(runtime, settings, workspace).await?;
    let dir = tempfile_dir()?;
    let context = {
        let path = dir.path().to_owned();
        let target = path.clone();
        tokio::task::spawn_blocking(move || unpack(&tar, &target))
            .await
            .map_err(|e| ServiceError::Internal(format!("unpacking the tools: {e}")))??;
        patch_all(&path).await?;
        tokio::task::spawn_blocking(move || context(&path))
            .await
            .map_err(|e| ServiceError::Internal(format!("packing the tools: {e}")))??
    };
    let spec = BuildSpec {
        context_tar: context,
        tag: tag.clone(),
        dockerfile: "Dockerfile".into(),
        labels: BTreeMap::from([(labels::INSTANCE.to_owned(), settings.instance.clone())]),
        network: Some("none".into()),
        ..Default::default()
    };
    runtime.build(spec, &|_| {}).await?;
    progress(&format!("made {tag}"));
    Ok(tag)
}

fn tempfile_dir() -> ServiceResult<TempDir> {
    let path = std::env::temp_dir().join(format!(
        "craftastic-tools-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir(&path)
        .map_err(|e| ServiceError::Internal(format!("a folder for the tools: {e}")))?;
    Ok(TempDir(path))
}

/// A folder removed with its contents when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the collector in a throwaway container of the sandbox image, as its user, with no
/// network, and returns the tar it prints. The container carries the label of the
/// workspace being made, so that reconciliation leaves it alone meanwhile.
async fn collect(
    runtime: &dyn Runtime,
    settings: &SandboxSettings,
    workspace: WorkspaceId,
) -> ServiceResult<Vec<u8>> {
    let spec = helper_spec(settings, workspace, "tools", Vec::new());
    let id = runtime.create(&spec).await?;
    let result = async {
        runtime.start(&id).await?;
        let out = runtime
            .exec(
                &id,
                ExecSpec {
                    cmd: vec!["sh".into(), "-c".into(), COLLECT.into(), "collect".into()],
                    deadline: Some(COLLECT_DEADLINE),
                    stdout_limit: Some(MAX_TAR),
                    ..Default::default()
                },
            )
            .await?;
        if out.code != 0 || out.stdout_cut {
            return Err(ServiceError::Upstream(format!(
                "could not gather Craftastic's tools from the sandbox image: {}",
                out.stderr_str().trim()
            )));
        }
        Ok(out.stdout)
    }
    .await;
    if let Err(e) = runtime.remove(&id).await {
        tracing::warn!(container = %id, error = %e, "could not remove the tools' container");
    }
    result
}

/// A throwaway container of the sandbox image, as its user, without network or disk cap,
/// labelled with the workspace it works for.
pub(super) fn helper_spec(
    settings: &SandboxSettings,
    workspace: WorkspaceId,
    purpose: &str,
    binds: Vec<Bind>,
) -> ContainerSpec {
    let mut spec = crate::sandbox::probe_spec(settings, settings.limits);
    spec.limits.disk_bytes = None;
    spec.name = spec.name.replace("probe", purpose);
    spec.labels
        .insert(labels::WORKSPACE.to_owned(), workspace.to_string());
    spec.binds = binds;
    spec
}

/// Unpacks the collector's tar (of the sandbox image, built by the admin) into `dir`,
/// taking only plain paths under `opt/craftastic`.
fn unpack(tar: &[u8], dir: &Path) -> ServiceResult<()> {
    let fail = |e: std::io::Error| ServiceError::Internal(format!("unpacking the tools: {e}"));
    let mut archive = tar::Archive::new(tar);
    archive.set_preserve_permissions(true);
    for entry in archive.entries().map_err(fail)? {
        let mut entry = entry.map_err(fail)?;
        let path = entry.path().map_err(fail)?.into_owned();
        let plain = (path == Path::new("opt") || path.starts_with("opt/craftastic"))
            && path.components().all(|c| matches!(c, Component::Normal(_)));
        if !plain {
            return Err(ServiceError::Internal(format!(
                "the tools' archive holds {}",
                path.display()
            )));
        }
        entry.unpack_in(dir).map_err(fail)?;
    }
    Ok(())
}

/// Points every program at the tools' loader and libraries.
async fn patch_all(dir: &Path) -> ServiceResult<()> {
    let root = dir.to_owned();
    let files = tokio::task::spawn_blocking(move || elf_files(&root))
        .await
        .map_err(|e| ServiceError::Internal(format!("listing the tools: {e}")))?;
    for (file, executable) in files {
        if file.ends_with("ld-linux-x86-64.so.2") {
            continue;
        }
        let mut args: Vec<&std::ffi::OsStr> = Vec::new();
        if executable {
            args.push("--set-interpreter".as_ref());
            args.push(LOADER.as_ref());
        }
        args.push("--set-rpath".as_ref());
        args.push(LIBS.as_ref());
        args.push(file.as_os_str());
        let run = tokio::process::Command::new("patchelf")
            .args(&args)
            .kill_on_drop(true)
            .output();
        let out = match tokio::time::timeout(PATCHELF_DEADLINE, run).await {
            Ok(Ok(out)) => out,
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ServiceError::Upstream(
                    "devcontainer workspaces need patchelf on the server's machine (apt-get install patchelf)".into(),
                ));
            }
            Ok(Err(e)) => return Err(ServiceError::Internal(format!("running patchelf: {e}"))),
            Err(_) => return Err(ServiceError::Upstream("patchelf did not finish".into())),
        };
        if !out.status.success() {
            return Err(ServiceError::Upstream(format!(
                "patchelf failed on {}: {}",
                file.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
    }
    Ok(())
}

/// The ELF files under `dir` (not following links), and whether each names a loader (a
/// program rather than a library).
fn elf_files(dir: &Path) -> Vec<(std::path::PathBuf, bool)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                if let Some(executable) = elf_kind(&entry.path()) {
                    found.push((entry.path(), executable));
                }
            }
        }
    }
    found
}

/// `Some(true)` for an ELF file with a `PT_INTERP` header, `Some(false)` for another ELF
/// file, `None` for what is not ELF (64-bit little-endian, as on x86-64).
fn elf_kind(path: &Path) -> Option<bool> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" || bytes[4] != 2 || bytes[5] != 1 {
        return None;
    }
    let u16_at = |o: usize| Some(u16::from_le_bytes(bytes.get(o..o + 2)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(bytes.get(o..o + 8)?.try_into().ok()?));
    let phoff = usize::try_from(u64_at(0x20)?).ok()?;
    let phentsize = usize::from(u16_at(0x36)?);
    let phnum = usize::from(u16_at(0x38)?);
    const PT_INTERP: u32 = 3;
    let interp = (0..phnum).any(|i| {
        let at = phoff + i * phentsize;
        bytes
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            == Some(PT_INTERP)
    });
    Some(interp)
}

/// The build context of the tools image: its tree and a Dockerfile copying it.
fn context(dir: &Path) -> ServiceResult<Vec<u8>> {
    let fail = |e: std::io::Error| ServiceError::Internal(format!("packing the tools: {e}"));
    let mut tar = tar::Builder::new(Vec::new());
    tar.follow_symlinks(false);
    tar.append_dir_all("opt", dir.join("opt")).map_err(fail)?;
    for (name, content, mode) in [
        ("Dockerfile", "FROM scratch\nCOPY opt /opt\n", 0o644),
        ("opt/craftastic/share/setup.sh", SETUP, 0o755),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(mode);
        header.set_cksum();
        tar.append_data(&mut header, name, content.as_bytes())
            .map_err(fail)?;
    }
    tar.into_inner().map_err(fail)
}
