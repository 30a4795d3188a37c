//! Domain values that can only hold valid data. Input is parsed into these once, at the
//! edge (HTTP handlers, the command line); everything deeper trusts them.

mod account;
mod activity;
mod agent;
mod deployment;
mod egress;
mod environment;
mod error_code;
mod git;
mod idle;
mod ids;
mod limit;
mod notify;
mod session;
mod size;
mod variables;

pub use account::{Email, Password, UserName};
pub use activity::ActivityState;
pub use agent::{AgentCredential, AgentName, AgentType, CredentialType};
pub use deployment::CoolifyAppId;
pub use egress::{EgressHost, EgressPolicy};
pub use environment::{BranchName, EnvironmentName, RepoPolicy, RepositoryKind, RepositoryUrl};
pub use error_code::ErrorCode;
pub use git::{CommitMessage, RemoteName, RepoPath};
pub use idle::IdleStopMinutes;
pub use ids::{AgentId, DeploymentId, EnvironmentId, SessionId, UserId, WorkspaceId};
pub use limit::LimitValue;
pub use notify::WebhookUrl;
pub use session::{SessionName, WorkingDirectory};
pub use size::{EnvironmentSize, WorkspaceSize, cpus, human_bytes};
pub use variables::{VariableEntry, VariableInput, VariableName, VariableSet, VariableValue};

/// Why a value was refused: the field it came from (`name`, or a place in a list such as
/// `variables[2].name`) and one sentence a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: std::borrow::Cow<'static, str>,
    pub message: String,
}

impl ValidationError {
    pub fn new(
        field: impl Into<std::borrow::Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// So that parses finding one bad field and parses finding several can be gathered alike.
impl From<ValidationError> for Vec<ValidationError> {
    fn from(e: ValidationError) -> Self {
        vec![e]
    }
}
