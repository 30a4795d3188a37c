//! Git inside a session's workspace (invariant I3: never on the host against a repository a
//! container can write). These modules read git's machine-readable output.

pub mod log;
pub mod porcelain;
