//! Faults on demand: a [`Runtime`] that passes every call to the real engine unless a rule
//! says to delay it, hang it or fail it. Rules are chosen by method and, optionally, by a
//! predicate on the call (its container, its command):
//!
//! ```ignore
//! faults.hang(Call::Exec).when(|c| c.cmd_contains("tmux"));
//! faults.fail(Call::Inspect).times(1);
//! faults.delay(Call::List, Duration::from_secs(2));
//! ```
//!
//! The first rule that matches a call and has uses left decides what happens to it. A hung
//! call waits until its rule is released ([`Fault::release`], [`Faults::clear`]) or the
//! caller gives up on it, so a test can show that the server does not wait forever.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use craftastic_runtime::{
    BuildSpec, ContainerInfo, ContainerSpec, ExecOutput, ExecSpec, ImageInfo, MemoryUsage,
    NetworkInfo, NetworkSpec, Runtime, RuntimeError, RuntimeResult, StorageDriver, StreamExec,
    TtyExec,
};

/// The methods of [`Runtime`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Ping,
    ImageExists,
    Create,
    Start,
    Stop,
    Remove,
    RemoveVolume,
    Inspect,
    List,
    Exec,
    ExecStream,
    ExecTty,
    ResizeTty,
    ExecExitCode,
    EnsureNetwork,
    ListNetworks,
    InspectNetwork,
    RemoveNetwork,
    WritableLayerBytes,
    StorageDriver,
    BuildImage,
    UpdateLimits,
    MemoryUsage,
}

/// One call as a rule's predicate sees it.
#[derive(Debug, Clone)]
pub struct CallInfo {
    pub call: Call,
    /// The container (by id or name), volume, exec id or image the call is about; empty
    /// for `ping` and `list`.
    pub target: String,
    /// The command of an `exec`, `exec_stream` or `exec_tty`; empty otherwise.
    pub cmd: Vec<String>,
}

impl CallInfo {
    /// Some word of the command contains `needle` (a script given to `sh -c` is one word).
    pub fn cmd_contains(&self, needle: &str) -> bool {
        self.cmd.iter().any(|word| word.contains(needle))
    }

    /// The call is about this container (id or name), volume, exec or image.
    pub fn on(&self, target: &str) -> bool {
        self.target == target
    }
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Delay(Duration),
    Hang,
    Fail,
}

type Predicate = Box<dyn Fn(&CallInfo) -> bool + Send + Sync>;

struct Rule {
    call: Call,
    action: Action,
    when: Mutex<Option<Predicate>>,
    /// Uses left; `None` for every matching call.
    left: Mutex<Option<usize>>,
    hits: AtomicUsize,
    released: tokio::sync::watch::Sender<bool>,
}

impl Rule {
    /// Whether the rule takes this call, using up one of its uses if so.
    fn take(&self, info: &CallInfo) -> bool {
        if self.call != info.call || *self.released.borrow() {
            return false;
        }
        if let Some(when) = self.when.lock().expect("predicate").as_ref()
            && !when(info)
        {
            return false;
        }
        let mut left = self.left.lock().expect("uses left");
        match left.as_mut() {
            Some(0) => return false,
            Some(n) => *n -= 1,
            None => {}
        }
        self.hits.fetch_add(1, Ordering::SeqCst);
        true
    }
}

/// The rules of one [`FaultyRuntime`]; clones share them.
#[derive(Clone, Default)]
pub struct Faults {
    rules: Arc<Mutex<Vec<Arc<Rule>>>>,
}

/// One rule, as added; its builder methods change it in place.
#[derive(Clone)]
pub struct Fault {
    rule: Arc<Rule>,
}

impl Fault {
    /// Only calls for which `predicate` holds.
    pub fn when(self, predicate: impl Fn(&CallInfo) -> bool + Send + Sync + 'static) -> Self {
        *self.rule.when.lock().expect("predicate") = Some(Box::new(predicate));
        self
    }

    /// Only the next `n` matching calls; later ones pass through.
    pub fn times(self, n: usize) -> Self {
        *self.rule.left.lock().expect("uses left") = Some(n);
        self
    }

    /// How many calls the rule has taken.
    pub fn hits(&self) -> usize {
        self.rule.hits.load(Ordering::SeqCst)
    }

    /// Ends the rule: calls it hangs go on to the engine, later calls pass through.
    pub fn release(&self) {
        self.rule.released.send_replace(true);
    }
}

impl Faults {
    pub fn new() -> Self {
        Self::default()
    }

    fn add(&self, call: Call, action: Action) -> Fault {
        let rule = Arc::new(Rule {
            call,
            action,
            when: Mutex::new(None),
            left: Mutex::new(None),
            hits: AtomicUsize::new(0),
            released: tokio::sync::watch::channel(false).0,
        });
        self.rules.lock().expect("rules").push(rule.clone());
        Fault { rule }
    }

    /// Matching calls wait `by`, then go to the engine.
    pub fn delay(&self, call: Call, by: Duration) -> Fault {
        self.add(call, Action::Delay(by))
    }

    /// Matching calls never return (until the rule is released).
    pub fn hang(&self, call: Call) -> Fault {
        self.add(call, Action::Hang)
    }

    /// Matching calls fail with [`RuntimeError::Engine`], without reaching the engine.
    pub fn fail(&self, call: Call) -> Fault {
        self.add(call, Action::Fail)
    }

    /// Releases and removes every rule.
    pub fn clear(&self) {
        for rule in self.rules.lock().expect("rules").drain(..) {
            rule.released.send_replace(true);
        }
    }

    /// What to do with a call: the first rule that takes it decides.
    fn rule_for(&self, info: &CallInfo) -> Option<Arc<Rule>> {
        self.rules
            .lock()
            .expect("rules")
            .iter()
            .find(|r| r.take(info))
            .cloned()
    }

    /// Applies the matching rule, if any; `Err` when the call is to fail.
    async fn apply(&self, call: Call, target: &str, cmd: &[String]) -> RuntimeResult<()> {
        let info = CallInfo {
            call,
            target: target.to_owned(),
            cmd: cmd.to_vec(),
        };
        let Some(rule) = self.rule_for(&info) else {
            return Ok(());
        };
        match rule.action {
            Action::Delay(by) => tokio::time::sleep(by).await,
            Action::Hang => {
                let mut released = rule.released.subscribe();
                let _ = released.wait_for(|r| *r).await;
            }
            Action::Fail => {
                return Err(RuntimeError::Engine(format!(
                    "injected fault: {call:?} on {target:?} fails"
                )));
            }
        }
        Ok(())
    }
}

/// The real runtime with [`Faults`] in front of it.
pub struct FaultyRuntime {
    inner: Arc<dyn Runtime>,
    faults: Faults,
}

impl FaultyRuntime {
    pub fn new(inner: Arc<dyn Runtime>, faults: Faults) -> Self {
        Self { inner, faults }
    }
}

#[async_trait]
impl Runtime for FaultyRuntime {
    async fn ping(&self) -> RuntimeResult<()> {
        self.faults.apply(Call::Ping, "", &[]).await?;
        self.inner.ping().await
    }

    async fn image_exists(&self, image: &str) -> RuntimeResult<bool> {
        self.faults.apply(Call::ImageExists, image, &[]).await?;
        self.inner.image_exists(image).await
    }

    async fn create(&self, spec: &ContainerSpec) -> RuntimeResult<String> {
        self.faults.apply(Call::Create, &spec.name, &[]).await?;
        self.inner.create(spec).await
    }

    async fn start(&self, id: &str) -> RuntimeResult<()> {
        self.faults.apply(Call::Start, id, &[]).await?;
        self.inner.start(id).await
    }

    async fn stop(&self, id: &str) -> RuntimeResult<()> {
        self.faults.apply(Call::Stop, id, &[]).await?;
        self.inner.stop(id).await
    }

    async fn remove(&self, id: &str) -> RuntimeResult<()> {
        self.faults.apply(Call::Remove, id, &[]).await?;
        self.inner.remove(id).await
    }

    async fn remove_volume(&self, name: &str) -> RuntimeResult<()> {
        self.faults.apply(Call::RemoveVolume, name, &[]).await?;
        self.inner.remove_volume(name).await
    }

    async fn inspect(&self, id: &str) -> RuntimeResult<Option<ContainerInfo>> {
        self.faults.apply(Call::Inspect, id, &[]).await?;
        self.inner.inspect(id).await
    }

    async fn list(&self, labels: &[(&str, &str)]) -> RuntimeResult<Vec<ContainerInfo>> {
        self.faults.apply(Call::List, "", &[]).await?;
        self.inner.list(labels).await
    }

    async fn exec(&self, id: &str, spec: ExecSpec) -> RuntimeResult<ExecOutput> {
        self.faults.apply(Call::Exec, id, &spec.cmd).await?;
        self.inner.exec(id, spec).await
    }

    async fn exec_stream(&self, id: &str, spec: ExecSpec) -> RuntimeResult<StreamExec> {
        self.faults.apply(Call::ExecStream, id, &spec.cmd).await?;
        self.inner.exec_stream(id, spec).await
    }

    async fn exec_tty(
        &self,
        id: &str,
        spec: ExecSpec,
        cols: u16,
        rows: u16,
    ) -> RuntimeResult<TtyExec> {
        self.faults.apply(Call::ExecTty, id, &spec.cmd).await?;
        self.inner.exec_tty(id, spec, cols, rows).await
    }

    async fn resize_tty(&self, exec_id: &str, cols: u16, rows: u16) -> RuntimeResult<()> {
        self.faults.apply(Call::ResizeTty, exec_id, &[]).await?;
        self.inner.resize_tty(exec_id, cols, rows).await
    }

    async fn exec_exit_code(&self, exec_id: &str) -> RuntimeResult<Option<i64>> {
        self.faults.apply(Call::ExecExitCode, exec_id, &[]).await?;
        self.inner.exec_exit_code(exec_id).await
    }

    async fn ensure_network(&self, spec: &NetworkSpec) -> RuntimeResult<NetworkInfo> {
        self.faults
            .apply(Call::EnsureNetwork, &spec.name, &[])
            .await?;
        self.inner.ensure_network(spec).await
    }

    async fn list_networks(&self, labels: &[(&str, &str)]) -> RuntimeResult<Vec<NetworkInfo>> {
        self.faults.apply(Call::ListNetworks, "", &[]).await?;
        self.inner.list_networks(labels).await
    }

    async fn inspect_network(&self, name: &str) -> RuntimeResult<Option<NetworkInfo>> {
        self.faults.apply(Call::InspectNetwork, name, &[]).await?;
        self.inner.inspect_network(name).await
    }

    async fn remove_network(&self, name: &str) -> RuntimeResult<()> {
        self.faults.apply(Call::RemoveNetwork, name, &[]).await?;
        self.inner.remove_network(name).await
    }

    async fn writable_layer_bytes(&self, id: &str) -> RuntimeResult<Option<i64>> {
        self.faults.apply(Call::WritableLayerBytes, id, &[]).await?;
        self.inner.writable_layer_bytes(id).await
    }

    async fn storage_driver(&self) -> RuntimeResult<StorageDriver> {
        self.faults.apply(Call::StorageDriver, "", &[]).await?;
        self.inner.storage_driver().await
    }

    async fn image_info(&self, image: &str) -> RuntimeResult<Option<ImageInfo>> {
        self.faults.apply(Call::ImageExists, image, &[]).await?;
        self.inner.image_info(image).await
    }

    async fn build(
        &self,
        spec: BuildSpec,
        progress: &(dyn for<'l> Fn(&'l str) + Send + Sync),
    ) -> RuntimeResult<()> {
        self.faults.apply(Call::BuildImage, &spec.tag, &[]).await?;
        self.inner.build(spec, progress).await
    }

    async fn update_limits(
        &self,
        id: &str,
        memory_bytes: i64,
        nano_cpus: i64,
    ) -> RuntimeResult<()> {
        self.faults.apply(Call::UpdateLimits, id, &[]).await?;
        self.inner.update_limits(id, memory_bytes, nano_cpus).await
    }

    async fn memory_usage(&self, id: &str) -> RuntimeResult<Option<MemoryUsage>> {
        self.faults.apply(Call::MemoryUsage, id, &[]).await?;
        self.inner.memory_usage(id).await
    }

    async fn build_image(
        &self,
        context_tar: Vec<u8>,
        tag: &str,
        build_args: &[(&str, &str)],
        progress: &(dyn for<'l> Fn(&'l str) + Send + Sync),
    ) -> RuntimeResult<()> {
        self.faults.apply(Call::BuildImage, tag, &[]).await?;
        self.inner
            .build_image(context_tar, tag, build_args, progress)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(call: Call, target: &str, cmd: &[&str]) -> CallInfo {
        CallInfo {
            call,
            target: target.into(),
            cmd: cmd.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    #[test]
    fn rules_match_by_method_predicate_and_uses_left() {
        let faults = Faults::new();
        let tmux = faults
            .hang(Call::Exec)
            .when(|c| c.cmd_contains("tmux") && c.on("a"));
        let inspect = faults.fail(Call::Inspect).times(1);
        assert!(faults.rule_for(&info(Call::Exec, "a", &["ls"])).is_none());
        assert!(
            faults
                .rule_for(&info(Call::Exec, "b", &["sh", "-c", "tmux ls"]))
                .is_none()
        );
        assert!(
            faults
                .rule_for(&info(Call::Exec, "a", &["sh", "-c", "tmux ls"]))
                .is_some()
        );
        assert!(faults.rule_for(&info(Call::Inspect, "a", &[])).is_some());
        assert!(faults.rule_for(&info(Call::Inspect, "a", &[])).is_none());
        assert_eq!((tmux.hits(), inspect.hits()), (1, 1));
        tmux.release();
        assert!(
            faults
                .rule_for(&info(Call::Exec, "a", &["sh", "-c", "tmux ls"]))
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_hung_call_goes_on_when_released() {
        let faults = Faults::new();
        let hang = faults.hang(Call::List);
        let waiting = tokio::spawn({
            let faults = faults.clone();
            async move { faults.apply(Call::List, "", &[]).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        hang.release();
        assert!(waiting.await.unwrap().is_ok());
        let fail = faults.fail(Call::Ping);
        assert!(faults.apply(Call::Ping, "", &[]).await.is_err());
        faults.clear();
        assert!(faults.apply(Call::Ping, "", &[]).await.is_ok());
        assert_eq!(fail.hits(), 1);
    }
}
