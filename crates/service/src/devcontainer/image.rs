//! The image of a devcontainer workspace: the branch's devcontainer.json read with git in a
//! throwaway container, its image or its Dockerfile built by the engine (each cached by a
//! hash of what it is made from), and a thin layer on top that adds Craftastic's tools and
//! the workspace user.

use std::collections::BTreeMap;
use std::time::Duration;

use craftastic_domain::{BranchName, EnvironmentId, WorkspaceId};
use craftastic_runtime::{Bind, BuildSpec, ExecSpec, Limits, Runtime};
use sha2::Digest;

use super::config::Source;
use super::{jsonc, tools};
use crate::sandbox::{self, SandboxSettings, labels};
use crate::{ServiceError, ServiceResult};

const READ: &str = include_str!("read.sh");
/// The largest build context (the folder of the branch the Dockerfile is built in).
pub const MAX_CONTEXT: usize = 64 << 20;
/// How long a Dockerfile may take to build.
pub const BUILD_DEADLINE: Duration = Duration::from_secs(20 * 60);
const LAYER_DEADLINE: Duration = Duration::from_secs(5 * 60);

/// A devcontainer.json as found on a branch.
pub struct Found {
    pub commit: String,
    pub path: String,
    pub bytes: Vec<u8>,
}

/// A throwaway container of the sandbox image with the environment's clone mounted
/// read-only, where git reads the branch; removed by [`Reader::close`].
pub struct Reader<'a> {
    runtime: &'a dyn Runtime,
    id: String,
    repo: String,
}

impl<'a> Reader<'a> {
    pub async fn open(
        runtime: &'a dyn Runtime,
        settings: &SandboxSettings,
        env: EnvironmentId,
        workspace: WorkspaceId,
    ) -> ServiceResult<Self> {
        let repo = sandbox::repo_mount(env);
        let bind = Bind {
            source: settings.repo_path(env),
            target: repo.clone(),
            read_only: true,
        };
        let spec = tools::helper_spec(settings, workspace, "reader", vec![bind]);
        let id = runtime.create(&spec).await?;
        let reader = Self { runtime, id, repo };
        if let Err(e) = runtime.start(&reader.id).await {
            reader.close().await;
            return Err(e.into());
        }
        Ok(reader)
    }

    pub async fn close(self) {
        if let Err(e) = self.runtime.remove(&self.id).await {
            tracing::warn!(container = %self.id, error = %e, "could not remove a devcontainer reader");
        }
    }

    /// The branch's devcontainer.json (`base`'s when the branch does not exist yet), if any.
    /// Fails: it is not a regular file or is too large → 422; git fails → 502.
    pub async fn config(
        &self,
        branch: &BranchName,
        base: &BranchName,
    ) -> ServiceResult<Option<Found>> {
        let max = jsonc::MAX_BYTES.to_string();
        let out = self
            .run(
                &["config", &self.repo, branch.as_str(), base.as_str(), &max],
                jsonc::MAX_BYTES + 4096,
            )
            .await?;
        let stdout = out.stdout;
        let first_line = || {
            String::from_utf8_lossy(stdout.split(|b| *b == b'\n').next().unwrap_or_default())
                .into_owned()
        };
        match out.code {
            0 => {}
            4 => return Ok(None),
            5 => {
                return Err(invalid(format!(
                    "{}: it is not a regular file (a link or a folder)",
                    first_line()
                )));
            }
            6 => {
                return Err(invalid(format!(
                    "{}: it is larger than {} KiB",
                    first_line(),
                    jsonc::MAX_BYTES >> 10
                )));
            }
            _ => {
                return Err(ServiceError::Upstream(format!(
                    "could not read the branch's devcontainer.json: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
        }
        let mut parts = stdout.splitn(3, |b| *b == b'\n');
        let commit = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        let path = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        let bytes = parts.next().unwrap_or_default().to_vec();
        Ok(Some(Found {
            commit,
            path,
            bytes,
        }))
    }

    /// A tar of the folder `dir` of `commit`.
    /// Fails: the folder is missing or larger than [`MAX_CONTEXT`] → 422.
    pub async fn context(&self, commit: &str, dir: &str) -> ServiceResult<Vec<u8>> {
        let out = self
            .run(&["context", &self.repo, commit, dir], MAX_CONTEXT)
            .await?;
        if out.stdout_cut {
            return Err(invalid(format!(
                "the build context {:?} is larger than {} MiB",
                if dir.is_empty() { "." } else { dir },
                MAX_CONTEXT >> 20
            )));
        }
        if out.code != 0 {
            return Err(invalid(
                String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            ));
        }
        Ok(out.stdout)
    }

    async fn run(
        &self,
        args: &[&str],
        limit: usize,
    ) -> ServiceResult<craftastic_runtime::ExecOutput> {
        let mut cmd = vec![
            "sh".to_owned(),
            "-c".to_owned(),
            READ.to_owned(),
            "read".to_owned(),
        ];
        cmd.extend(args.iter().map(|a| (*a).to_owned()));
        Ok(self
            .runtime
            .exec(
                &self.id,
                ExecSpec {
                    cmd,
                    stdout_limit: Some(limit),
                    ..Default::default()
                },
            )
            .await?)
    }
}

fn invalid(message: String) -> ServiceError {
    craftastic_domain::ValidationError::new("devcontainer", message).into()
}

/// What a build runs with: the workspace's network and limits.
pub struct BuildPlace<'a> {
    pub network: String,
    pub limits: Limits,
    pub instance: &'a str,
    pub progress: &'a (dyn Fn(&str) + Send + Sync),
}

/// Builds the branch's Dockerfile unless an image of the same context, Dockerfile, args,
/// target and base images was built before; returns its tag.
pub async fn build_dockerfile(
    runtime: &dyn Runtime,
    reader: &Reader<'_>,
    commit: &str,
    source: &Source,
    place: &BuildPlace<'_>,
) -> ServiceResult<String> {
    let Source::Dockerfile {
        dockerfile,
        context,
        args,
        target,
    } = source
    else {
        return Err(ServiceError::Internal("not a Dockerfile".into()));
    };
    let inside = if context.is_empty() {
        Some(dockerfile.as_str())
    } else {
        dockerfile.strip_prefix(&format!("{context}/"))
    };
    let Some(inside) = inside else {
        return Err(invalid(format!(
            "build.dockerfile {dockerfile} is outside the build context {context}; put it inside"
        )));
    };
    let tar = reader.context(commit, context).await?;
    let text = dockerfile_text(&tar, inside).ok_or_else(|| {
        invalid(format!(
            "build.dockerfile {dockerfile} is not a file of the branch"
        ))
    })?;
    let mut hash = sha2::Sha256::new();
    hash.update(&tar);
    for part in [inside, target.as_deref().unwrap_or("")] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    for (k, v) in args {
        hash.update(format!("{k}={v}").as_bytes());
        hash.update([0]);
    }
    for image in base_images(&text) {
        if let Some(info) = runtime.image_info(&image).await? {
            hash.update(info.id.as_bytes());
        }
    }
    let tag = format!(
        "craftastic/devcontainer-build:{}",
        &hex::encode(hash.finalize())[..16]
    );
    if runtime.image_exists(&tag).await? {
        (place.progress)(&format!("{dockerfile} is unchanged: using {tag}"));
        return Ok(tag);
    }
    (place.progress)(&format!("building {dockerfile}"));
    let spec = BuildSpec {
        context_tar: tar,
        tag: tag.clone(),
        dockerfile: inside.to_owned(),
        args: args.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        target: target.clone(),
        labels: BTreeMap::from([(labels::INSTANCE.to_owned(), place.instance.to_owned())]),
        network: Some(place.network.clone()),
        limits: Some(place.limits),
    };
    match tokio::time::timeout(BUILD_DEADLINE, runtime.build(spec, place.progress)).await {
        Ok(Ok(())) => Ok(tag),
        Ok(Err(e)) => Err(ServiceError::Upstream(format!(
            "building {dockerfile} failed: {e}"
        ))),
        Err(_) => Err(ServiceError::Upstream(format!(
            "building {dockerfile} took longer than {} minutes and was stopped",
            BUILD_DEADLINE.as_secs() / 60
        ))),
    }
}

/// The Dockerfile's text from the context's tar, at most 1 MiB of it.
fn dockerfile_text(tar: &[u8], path: &str) -> Option<String> {
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries().ok()? {
        let mut entry = entry.ok()?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let name = entry.path().ok()?.to_string_lossy().into_owned();
        if name.trim_start_matches("./") == path {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::Read::take(&mut entry, 1 << 20), &mut text)
                .ok()?;
            return Some(text);
        }
    }
    None
}

/// The images the Dockerfile's stages start from (those written without variables).
fn base_images(dockerfile: &str) -> Vec<String> {
    let mut stages = Vec::new();
    let mut images = Vec::new();
    for line in dockerfile.lines() {
        let mut words = line.split_whitespace();
        if !words.next().is_some_and(|w| w.eq_ignore_ascii_case("FROM")) {
            continue;
        }
        let mut words = words.skip_while(|w| w.starts_with("--"));
        let Some(image) = words.next() else { continue };
        if words.next().is_some_and(|w| w.eq_ignore_ascii_case("AS")) {
            if let Some(stage) = words.next() {
                stages.push(stage.to_ascii_lowercase());
            }
        }
        if !image.contains('$') && !stages.contains(&image.to_ascii_lowercase()) {
            images.push(image.to_owned());
        }
    }
    images
}

/// Who the workspace runs as, in the image built by [`build_layer`].
pub struct WorkspaceUser<'a> {
    pub uid: u32,
    pub gid: u32,
    /// remoteUser, when the file names one that is not root.
    pub name: Option<&'a str>,
}

/// Builds the thin layer on `base` (Craftastic's tools, the workspace user) unless it was
/// built before; returns its tag.
pub async fn build_layer(
    runtime: &dyn Runtime,
    base: &str,
    tools: &str,
    user: &WorkspaceUser<'_>,
    place: &BuildPlace<'_>,
) -> ServiceResult<String> {
    let base_id = match runtime.image_info(base).await? {
        Some(info) => info.id,
        None => {
            return Err(ServiceError::Upstream(format!(
                "the image {base} is not on the server's container engine, which Craftastic does not ask to pull it; an admin can pull or load it"
            )));
        }
    };
    let name = user.name.unwrap_or("");
    let dockerfile = format!(
        "FROM {base_id}\nCOPY --from={tools} {root} {root}\nUSER root\nRUN [\"{root}/bin/sh\", \"{root}/share/setup.sh\", \"{uid}\", \"{gid}\", \"{name}\"]\n",
        root = tools::ROOT,
        uid = user.uid,
        gid = user.gid,
    );
    let tag = format!(
        "craftastic/devcontainer:{}",
        &hex::encode(sha2::Sha256::digest(dockerfile.as_bytes()))[..16]
    );
    if runtime.image_exists(&tag).await? {
        return Ok(tag);
    }
    (place.progress)("adding Craftastic's tools and the workspace user");
    let mut context = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(dockerfile.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    context
        .append_data(&mut header, "Dockerfile", dockerfile.as_bytes())
        .and_then(|()| context.finish())
        .map_err(|e| ServiceError::Internal(format!("a build context: {e}")))?;
    let context = context
        .into_inner()
        .map_err(|e| ServiceError::Internal(format!("a build context: {e}")))?;
    let spec = BuildSpec {
        context_tar: context,
        tag: tag.clone(),
        dockerfile: "Dockerfile".into(),
        labels: BTreeMap::from([(labels::INSTANCE.to_owned(), place.instance.to_owned())]),
        network: Some("none".into()),
        limits: Some(place.limits),
        ..Default::default()
    };
    match tokio::time::timeout(LAYER_DEADLINE, runtime.build(spec, place.progress)).await {
        Ok(Ok(())) => Ok(tag),
        Ok(Err(e)) => Err(ServiceError::Upstream(format!(
            "adding Craftastic's tools to the image failed: {e}"
        ))),
        Err(_) => Err(ServiceError::Upstream(
            "adding Craftastic's tools to the image did not finish".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_images_leave_out_stages_and_variables() {
        let text = "# syntax=x\nFROM --platform=linux/amd64 craftastic/base:bookworm AS build\nRUN x\nfrom build\nFROM ${BASE}\nFROM debian:12 as final\n";
        assert_eq!(base_images(text), ["craftastic/base:bookworm", "debian:12"]);
    }
}
